using ControlPlane.Contracts.V1;
using ControlPlane.Grpc.Server;
using ControlPlane.Grpc.Tests.Support;
using ControlPlane.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace ControlPlane.Grpc.Tests.Server;

/// <summary>Deadlines run on a fake clock: the test decides when time passes.</summary>
public sealed class DeadlineTests : IAsyncLifetime
{
    private readonly FakeTimeProvider _time = new();
    private readonly TestService _service = new();
    private GrpcTestServer _server = null!;

    public async Task InitializeAsync() =>
        _server = await GrpcTestServer.StartAsync(services =>
        {
            services.AddSingleton<TimeProvider>(_time);
            services.AddGrpcService(_ => _service.CreateDefinition());
        });

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Handler_ignoring_its_token_still_ends_with_DEADLINE_EXCEEDED_when_the_deadline_passes()
    {
        var entered = new TaskCompletionSource();
        var release = new TaskCompletionSource();
        var handlerFinished = false;
        _service.Unary = async (_, _) =>
        {
            entered.SetResult();
            await release.Task;
            handlerFinished = true;
            return new EchoResponse();
        };

        var call = _server.Client.UnaryAsync(TestService.UnaryPath, new EchoRequest(), ("grpc-timeout", "500m"));
        await entered.Task;
        _time.Advance(TimeSpan.FromMilliseconds(500));
        var response = await call;

        Assert.False(handlerFinished);
        Assert.Equal(StatusCode.DeadlineExceeded, response.Status);
        Assert.True(response.TrailersOnly);
        release.SetResult();
        await AssertStillServesAsync();
    }

    [Fact]
    public async Task Handler_token_is_cancelled_at_the_deadline_and_the_call_ends_DEADLINE_EXCEEDED()
    {
        var entered = new TaskCompletionSource();
        var observed = new TaskCompletionSource<bool>();
        _service.Unary = async (_, context) =>
        {
            context.CancellationToken.Register(() => observed.TrySetResult(true));
            entered.SetResult();
            await Task.Delay(Timeout.Infinite, context.CancellationToken);
            return new EchoResponse();
        };

        var call = _server.Client.UnaryAsync(TestService.UnaryPath, new EchoRequest(), ("grpc-timeout", "2S"));
        await entered.Task;
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.False(observed.Task.IsCompleted);
        _time.Advance(TimeSpan.FromSeconds(1));

        Assert.True(await observed.Task);
        var response = await call;
        Assert.Equal(StatusCode.DeadlineExceeded, response.Status);
        Assert.Equal("Deadline Exceeded", response.Message);
    }

    [Fact]
    public async Task Deadline_is_exposed_on_the_context()
    {
        DateTime? deadline = null;
        _service.Unary = (_, context) =>
        {
            deadline = context.Deadline;
            return Task.FromResult(new EchoResponse());
        };

        var response = await _server.Client.UnaryAsync(TestService.UnaryPath, new EchoRequest(), ("grpc-timeout", "3M"));

        Assert.Equal(StatusCode.OK, response.Status);
        Assert.Equal(_time.GetUtcNow().UtcDateTime.AddMinutes(3), deadline);
    }

    [Fact]
    public async Task Server_stream_past_its_deadline_ends_with_DEADLINE_EXCEEDED_trailers_after_the_sent_messages()
    {
        var sent = new TaskCompletionSource();
        _service.ServerStreaming = async (_, responses, context) =>
        {
            await responses.WriteAsync(new EchoResponse { Message = "before" });
            sent.SetResult();
            await Task.Delay(Timeout.Infinite, context.CancellationToken);
        };

        var call = _server.Client.UnaryAsync(TestService.ServerStreamingPath, new EchoRequest(), ("grpc-timeout", "100m"));
        await sent.Task;
        _time.Advance(TimeSpan.FromMilliseconds(100));
        var response = await call;

        Assert.False(response.TrailersOnly);
        Assert.Equal("before", EchoResponse.Parser.ParseFrom(Assert.Single(response.Frames).Payload).Message);
        Assert.Equal(StatusCode.DeadlineExceeded, response.Status);
    }

    [Fact]
    public async Task Writes_after_the_deadline_fail_in_the_handler()
    {
        var entered = new TaskCompletionSource();
        var release = new TaskCompletionSource();
        var writeError = new TaskCompletionSource<Exception>();
        _service.ServerStreaming = async (_, responses, _) =>
        {
            entered.SetResult();
            await release.Task;
            try
            {
                await responses.WriteAsync(new EchoResponse { Message = "late" });
                writeError.SetResult(null!);
            }
            catch (Exception ex)
            {
                writeError.SetResult(ex);
            }
        };

        var call = _server.Client.UnaryAsync(TestService.ServerStreamingPath, new EchoRequest(), ("grpc-timeout", "1S"));
        await entered.Task;
        _time.Advance(TimeSpan.FromSeconds(1));
        var response = await call;
        release.SetResult();

        Assert.Equal(StatusCode.DeadlineExceeded, response.Status);
        Assert.Empty(response.Frames);
        Assert.IsType<InvalidOperationException>(await writeError.Task);
    }

    [Fact]
    public async Task Client_stream_waiting_for_messages_ends_DEADLINE_EXCEEDED_while_the_client_keeps_it_open()
    {
        var first = new TaskCompletionSource();
        _service.ClientStreaming = async (requests, context) =>
        {
            Assert.True(await requests.MoveNext(context.CancellationToken));
            first.SetResult();
            await requests.MoveNext(context.CancellationToken);
            return new EchoResponse();
        };
        var content = new StreamingContent();
        content.Write(GrpcWire.Frame(new EchoRequest { Message = "only one" }));
        using var request = GrpcWire.Request(TestService.ClientStreamingPath, content, ("grpc-timeout", "250m"));

        var send = _server.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        await first.Task;
        _time.Advance(TimeSpan.FromMilliseconds(250));
        using var response = await send;
        var result = await GrpcResponse.ReadAsync(response);
        content.Complete();

        Assert.Equal(StatusCode.DeadlineExceeded, result.Status);
        await AssertStillServesAsync();
    }

    [Fact]
    public async Task Zero_timeout_ends_the_call_before_the_handler_runs()
    {
        var invoked = false;
        _service.Unary = (_, _) =>
        {
            invoked = true;
            return Task.FromResult(new EchoResponse());
        };

        var response = await _server.Client.UnaryAsync(TestService.UnaryPath, new EchoRequest(), ("grpc-timeout", "0n"));

        Assert.Equal(StatusCode.DeadlineExceeded, response.Status);
        Assert.False(invoked);
    }

    [Theory]
    [InlineData("soon")]
    [InlineData("123456789S")]
    [InlineData("10x")]
    public async Task Malformed_timeout_is_INTERNAL(string value)
    {
        var response = await _server.Client.UnaryAsync(TestService.UnaryPath, new EchoRequest(), ("grpc-timeout", value));

        Assert.Equal(StatusCode.Internal, response.Status);
        Assert.Contains("grpc-timeout", response.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Call_finishing_before_its_deadline_is_OK()
    {
        var response = await _server.Client.UnaryAsync(TestService.UnaryPath, new EchoRequest { Message = "fast" }, ("grpc-timeout", "1S"));

        Assert.Equal(StatusCode.OK, response.Status);
        Assert.Equal("fast", response.Single(EchoResponse.Parser).Message);
    }

    private async Task AssertStillServesAsync()
    {
        _service.Reset();
        var response = await _server.Client.UnaryAsync(TestService.UnaryPath, new EchoRequest { Message = "ok" });
        Assert.Equal(StatusCode.OK, response.Status);
    }
}
