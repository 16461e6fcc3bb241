using ControlPlane.Contracts.V1;
using ControlPlane.Grpc.Client;
using ControlPlane.Testing;
using Microsoft.AspNetCore.Http;

namespace ControlPlane.Grpc.Tests.Client;

/// <summary>Deadlines (on an injected clock) and cancellation: the client sends grpc-timeout, resets the
/// stream when time runs out or the caller cancels, and reports DEADLINE_EXCEEDED or CANCELLED.</summary>
public sealed class GrpcChannelDeadlineTests
{
    private static readonly EchoRequest Hello = new() { Message = "hello" };

    /// <summary>A handler that answers nothing until the client resets the stream.</summary>
    private sealed class StallingHandler
    {
        public TaskCompletionSource<string?> Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public TaskCompletionSource Aborted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public async Task Handle(HttpContext ctx)
        {
            ctx.RequestAborted.Register(() => Aborted.TrySetResult());
            RawGrpcServer.StartGrpcResponse(ctx);
            await ctx.Response.StartAsync();
            await ctx.Response.Body.FlushAsync();
            Started.TrySetResult(ctx.Request.Headers.TryGetValue("grpc-timeout", out var t) ? t.ToString() : null);
            await Aborted.Task;
        }
    }

    [Fact]
    public async Task Unary_deadline_sends_grpc_timeout_then_resets_the_stream_with_deadline_exceeded()
    {
        var clock = new FakeTimeProvider();
        var handler = new StallingHandler();
        await using var server = await RawGrpcServer.StartAsync(handler.Handle);
        using var channel = GrpcChannel.ForAddress(server.Address, new GrpcChannelOptions { TimeProvider = clock });

        var call = channel.CreateCallInvoker().UnaryAsync(DiagnosticsMethods.Echo, Hello,
            new CallOptions(deadline: clock.GetUtcNow().UtcDateTime.AddSeconds(5)));
        Assert.Equal("5000000u", await handler.Started.Task.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.False(call.IsCompleted);
        clock.Advance(TimeSpan.FromSeconds(5));

        var ex = await Assert.ThrowsAsync<RpcException>(() => call);
        Assert.Equal(StatusCode.DeadlineExceeded, ex.StatusCode);
        await handler.Aborted.Task.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Streaming_deadline_settles_the_status_even_without_a_pending_read()
    {
        var clock = new FakeTimeProvider();
        var handler = new StallingHandler();
        await using var server = await RawGrpcServer.StartAsync(handler.Handle);
        using var channel = GrpcChannel.ForAddress(server.Address, new GrpcChannelOptions { TimeProvider = clock });

        using var call = channel.CreateCallInvoker().ServerStreaming(DiagnosticsMethods.EchoStream, Hello,
            new CallOptions(deadline: clock.GetUtcNow().UtcDateTime.AddMilliseconds(250)));
        Assert.Equal("250000u", await handler.Started.Task.WaitAsync(TimeSpan.FromSeconds(10)));
        await call.ResponseHeadersAsync.WaitAsync(TimeSpan.FromSeconds(10));
        clock.Advance(TimeSpan.FromMilliseconds(250));

        Assert.Equal(StatusCode.DeadlineExceeded, call.GetStatus().StatusCode);
        var ex = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(CancellationToken.None));
        Assert.Equal(StatusCode.DeadlineExceeded, ex.StatusCode);
        await handler.Aborted.Task.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task A_deadline_already_past_fails_without_sending()
    {
        var clock = new FakeTimeProvider();
        var requests = 0;
        await using var server = await RawGrpcServer.StartAsync(_ =>
        {
            Interlocked.Increment(ref requests);
            return Task.CompletedTask;
        });
        using var channel = GrpcChannel.ForAddress(server.Address, new GrpcChannelOptions { TimeProvider = clock });

        var ex = await Assert.ThrowsAsync<RpcException>(() => channel.CreateCallInvoker().UnaryAsync(DiagnosticsMethods.Echo, Hello,
            new CallOptions(deadline: clock.GetUtcNow().UtcDateTime.AddSeconds(-1))));

        Assert.Equal(StatusCode.DeadlineExceeded, ex.StatusCode);
        Assert.Equal(0, requests);
    }

    [Fact]
    public async Task Cancelling_a_unary_call_resets_the_stream_and_reports_cancelled()
    {
        var handler = new StallingHandler();
        await using var server = await RawGrpcServer.StartAsync(handler.Handle);
        using var channel = GrpcChannel.ForAddress(server.Address);
        using var cts = new CancellationTokenSource();

        var call = channel.CreateCallInvoker().UnaryAsync(DiagnosticsMethods.Echo, Hello, new CallOptions(cancellationToken: cts.Token));
        Assert.Null(await handler.Started.Task.WaitAsync(TimeSpan.FromSeconds(10)));
        await cts.CancelAsync();

        var ex = await Assert.ThrowsAsync<RpcException>(() => call);
        Assert.Equal(StatusCode.Cancelled, ex.StatusCode);
        await handler.Aborted.Task.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Cancelling_a_duplex_call_fails_reads_and_writes_with_cancelled()
    {
        var handler = new StallingHandler();
        await using var server = await RawGrpcServer.StartAsync(handler.Handle);
        using var channel = GrpcChannel.ForAddress(server.Address);
        using var cts = new CancellationTokenSource();

        using var call = channel.CreateCallInvoker().DuplexStreaming(DiagnosticsMethods.Chat, new CallOptions(cancellationToken: cts.Token));
        await call.RequestStream.WriteAsync(new EchoRequest { Message = "x" });
        await handler.Started.Task.WaitAsync(TimeSpan.FromSeconds(10));
        var read = call.ResponseStream.MoveNext(CancellationToken.None);
        await cts.CancelAsync();

        Assert.Equal(StatusCode.Cancelled, (await Assert.ThrowsAsync<RpcException>(() => read.WaitAsync(TimeSpan.FromSeconds(10)))).StatusCode);
        Assert.Equal(StatusCode.Cancelled, (await Assert.ThrowsAsync<RpcException>(() => call.RequestStream.WriteAsync(new EchoRequest()))).StatusCode);
        Assert.Equal(StatusCode.Cancelled, call.GetStatus().StatusCode);
        await handler.Aborted.Task.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Disposing_a_running_call_resets_the_stream()
    {
        var handler = new StallingHandler();
        await using var server = await RawGrpcServer.StartAsync(handler.Handle);
        using var channel = GrpcChannel.ForAddress(server.Address);

        var call = channel.CreateCallInvoker().ServerStreaming(DiagnosticsMethods.EchoStream, Hello);
        await handler.Started.Task.WaitAsync(TimeSpan.FromSeconds(10));
        call.Dispose();

        await handler.Aborted.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(StatusCode.Cancelled, call.GetStatus().StatusCode);
    }

    [Fact]
    public async Task A_cancelled_read_token_cancels_the_call()
    {
        var handler = new StallingHandler();
        await using var server = await RawGrpcServer.StartAsync(handler.Handle);
        using var channel = GrpcChannel.ForAddress(server.Address);
        using var cts = new CancellationTokenSource();

        using var call = channel.CreateCallInvoker().ServerStreaming(DiagnosticsMethods.EchoStream, Hello);
        await handler.Started.Task.WaitAsync(TimeSpan.FromSeconds(10));
        var read = call.ResponseStream.MoveNext(cts.Token);
        await cts.CancelAsync();

        Assert.Equal(StatusCode.Cancelled, (await Assert.ThrowsAsync<RpcException>(() => read.WaitAsync(TimeSpan.FromSeconds(10)))).StatusCode);
        await handler.Aborted.Task.WaitAsync(TimeSpan.FromSeconds(10));
    }
}
