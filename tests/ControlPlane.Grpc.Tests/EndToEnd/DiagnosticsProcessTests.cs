using ControlPlane.Contracts.V1;
using ControlPlane.Grpc.Client;
using ControlPlane.Grpc.Tests.Client;
using ControlPlane.Grpc.Tests.Interop;

namespace ControlPlane.Grpc.Tests.EndToEnd;

/// <summary>Starts the controlplane executable once for the class.</summary>
public sealed class ControlPlaneProcessFixture : IAsyncLifetime
{
    internal ControlPlaneProcess Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await ControlPlaneProcess.StartAsync();

    public async Task DisposeAsync() => await Server.DisposeAsync();
}

/// <summary>Our typed Diagnostics client against the shipped controlplane executable.</summary>
public sealed class DiagnosticsProcessTests : IClassFixture<ControlPlaneProcessFixture>, IDisposable
{
    private readonly GrpcChannel _channel;
    private readonly DiagnosticsClient _client;

    public DiagnosticsProcessTests(ControlPlaneProcessFixture fixture)
    {
        _channel = GrpcChannel.ForAddress("http://" + fixture.Server.Target);
        _client = new DiagnosticsClient(_channel.CreateCallInvoker());
    }

    public void Dispose() => _channel.Dispose();

    [Fact]
    public async Task Every_call_shape_works_against_the_executable()
    {
        var echo = await _client.EchoAsync(new EchoRequest { Message = "ping" });

        using var stream = _client.EchoStream(new EchoRequest { Message = "s", Count = 3 });
        var sequences = new List<int>();
        while (await stream.ResponseStream.MoveNext(CancellationToken.None))
        {
            sequences.Add(stream.ResponseStream.Current.Sequence);
        }

        using var collect = _client.Collect();
        await collect.RequestStream.WriteAsync(new EchoRequest { Message = "x" });
        await collect.RequestStream.WriteAsync(new EchoRequest { Message = "y" });
        await collect.RequestStream.CompleteAsync();
        var collected = await collect;

        using var chat = _client.Chat();
        await chat.RequestStream.WriteAsync(new EchoRequest { Message = "hi" });
        Assert.True(await chat.ResponseStream.MoveNext(CancellationToken.None));
        var answer = chat.ResponseStream.Current.Message;
        await chat.RequestStream.CompleteAsync();
        Assert.False(await chat.ResponseStream.MoveNext(CancellationToken.None));

        Assert.Equal("ping", echo.Message);
        Assert.Equal([0, 1, 2], sequences);
        Assert.Equal(("xy", 2), (collected.Message, collected.Count));
        Assert.Equal("hi", answer);
    }

    [Fact]
    public async Task Requested_status_with_a_non_ascii_message_arrives_intact()
    {
        var ex = await Assert.ThrowsAsync<RpcException>(() =>
            _client.EchoAsync(new EchoRequest { RespondWithStatus = (int)StatusCode.ResourceExhausted, StatusMessage = "Überlastet – 过载" }));

        Assert.Equal(new Status(StatusCode.ResourceExhausted, "Überlastet – 过载"), ex.Status);
    }

    [Fact]
    public async Task Echoed_binary_metadata_comes_back_in_headers_and_trailers()
    {
        var trace = new byte[] { 0, 1, 2, 255 };
        using var call = _client.Echo(new EchoRequest { EchoMetadata = { "x-trace-bin" } }, new CallOptions(new Metadata().Add("x-trace-bin", trace)));
        await call;

        Assert.Equal(trace, (await call.ResponseHeadersAsync).Get("x-trace-bin")!.ValueBytes);
        Assert.Equal(trace, call.GetTrailers().Get("x-trace-bin")!.ValueBytes);
    }

    [Fact]
    public async Task A_deadline_shorter_than_the_requested_delay_is_deadline_exceeded()
    {
        var ex = await Assert.ThrowsAsync<RpcException>(() =>
            _client.EchoAsync(new EchoRequest { DelayMs = 10_000 }, new CallOptions(deadline: TimeProvider.System.GetUtcNow().UtcDateTime.AddMilliseconds(200))));

        Assert.Equal(StatusCode.DeadlineExceeded, ex.StatusCode);
    }
}
