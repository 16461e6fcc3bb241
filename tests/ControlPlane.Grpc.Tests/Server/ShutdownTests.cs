using System.Net;
using ControlPlane.Contracts.V1;
using ControlPlane.Grpc.Server;
using ControlPlane.Grpc.Tests.Support;
using ControlPlane.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace ControlPlane.Grpc.Tests.Server;

public sealed class ShutdownTests
{
    [Fact]
    public async Task In_flight_call_finishes_and_new_calls_are_refused_during_graceful_shutdown()
    {
        var service = new TestService();
        await using var server = await GrpcTestServer.StartAsync(s => s.AddGrpcService(_ => service.CreateDefinition()));
        var entered = new TaskCompletionSource();
        var release = new TaskCompletionSource();
        service.Unary = async (request, _) =>
        {
            entered.SetResult();
            await release.Task;
            return new EchoResponse { Message = request.Message };
        };

        var inFlight = server.Client.UnaryAsync(TestService.UnaryPath, new EchoRequest { Message = "in flight" });
        await entered.Task;
        var stopping = StoppingSignal(server);
        var stop = server.App.StopAsync();
        await stopping;

        await AssertRefusedAsync(server);
        Assert.False(inFlight.IsCompleted);
        release.SetResult();
        var response = await inFlight;
        await stop;

        Assert.Equal(StatusCode.OK, response.Status);
        Assert.Equal("in flight", response.Single(EchoResponse.Parser).Message);
    }

    [Fact]
    public async Task Calls_still_running_when_the_shutdown_timeout_elapses_are_cancelled_with_UNAVAILABLE()
    {
        var time = new FakeTimeProvider();
        var service = new TestService();
        await using var server = await GrpcTestServer.StartAsync(
            s =>
            {
                s.AddSingleton<TimeProvider>(time);
                s.AddGrpcService(_ => service.CreateDefinition());
            },
            options => options.ShutdownTimeout = TimeSpan.FromSeconds(5));
        var entered = new TaskCompletionSource();
        service.Unary = async (_, context) =>
        {
            entered.SetResult();
            await Task.Delay(Timeout.Infinite, context.CancellationToken);
            return new EchoResponse();
        };

        var inFlight = server.Client.UnaryAsync(TestService.UnaryPath, new EchoRequest());
        await entered.Task;
        var stopping = StoppingSignal(server);
        var stop = server.App.StopAsync();
        await stopping;
        time.Advance(TimeSpan.FromSeconds(4));
        Assert.False(inFlight.IsCompleted);
        time.Advance(TimeSpan.FromSeconds(1));
        var response = await inFlight;
        await stop;

        Assert.Equal(StatusCode.Unavailable, response.Status);
        Assert.Equal("Server is shutting down.", response.Message);
    }

    private static Task StoppingSignal(GrpcTestServer server)
    {
        var stopping = new TaskCompletionSource();
        server.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping.Register(() => stopping.TrySetResult());
        return stopping.Task;
    }

    /// <summary>A new call is refused either by the server (UNAVAILABLE) or by the transport
    /// (GOAWAY / closed listener), depending on how far Kestrel's stop has gone.</summary>
    private static async Task AssertRefusedAsync(GrpcTestServer server)
    {
        try
        {
            var response = await server.Client.UnaryAsync(TestService.UnaryPath, new EchoRequest());
            Assert.Equal(HttpStatusCode.OK, response.HttpStatus);
            Assert.Equal(StatusCode.Unavailable, response.Status);
        }
        catch (HttpRequestException)
        {
        }
    }
}
