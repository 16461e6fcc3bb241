using ControlPlane.Contracts.V1;
using ControlPlane.Grpc.Tests.Support;

namespace ControlPlane.Grpc.Tests.Server;

public sealed class CancellationTests : IClassFixture<TestServerFixture>
{
    private readonly TestServerFixture _fixture;

    public CancellationTests(TestServerFixture fixture)
    {
        _fixture = fixture;
        _fixture.Service.Reset();
    }

    [Fact]
    public async Task Client_cancelling_a_call_cancels_the_handler_token()
    {
        var entered = new TaskCompletionSource();
        var observed = new TaskCompletionSource<Exception?>();
        _fixture.Service.Unary = async (_, context) =>
        {
            entered.SetResult();
            try
            {
                await Task.Delay(Timeout.Infinite, context.CancellationToken);
                observed.SetResult(null);
            }
            catch (OperationCanceledException ex)
            {
                observed.SetResult(ex);
            }

            return new EchoResponse();
        };

        using var cts = new CancellationTokenSource();
        using var request = GrpcWire.Request(TestService.UnaryPath, GrpcWire.Frame(new EchoRequest()));
        var send = _fixture.Server.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cts.Token);
        await entered.Task;
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => send);
        Assert.IsAssignableFrom<OperationCanceledException>(await observed.Task);
        await AssertStillServesAsync();
    }

    [Fact]
    public async Task Client_resetting_a_stream_mid_way_stops_the_streaming_handler()
    {
        var observed = new TaskCompletionSource();
        _fixture.Service.Duplex = async (requests, responses, context) =>
        {
            using var registration = context.CancellationToken.Register(() => observed.TrySetResult());
            while (await requests.MoveNext(context.CancellationToken))
            {
                await responses.WriteAsync(new EchoResponse { Message = requests.Current.Message });
            }
        };

        var content = new StreamingContent();
        content.Write(GrpcWire.Frame(new EchoRequest { Message = "x" }));
        using var request = GrpcWire.Request(TestService.DuplexPath, content);
        var response = await _fixture.Server.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        var frames = new GrpcFrameReader(await response.Content.ReadAsStreamAsync());
        Assert.NotNull(await frames.ReadAsync());

        response.Dispose();

        await observed.Task;
        await AssertStillServesAsync();
    }

    private async Task AssertStillServesAsync()
    {
        _fixture.Service.Reset();
        var response = await _fixture.Server.Client.UnaryAsync(TestService.UnaryPath, new EchoRequest { Message = "ok" });
        Assert.Equal(StatusCode.OK, response.Status);
    }
}
