using ControlPlane.Grpc.Health;
using ControlPlane.Grpc.Tests.Support;
using Grpc.Health.V1;
using Microsoft.Extensions.DependencyInjection;
using ServingStatus = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace ControlPlane.Grpc.Tests.Server;

public sealed class HealthServiceTests : IAsyncLifetime
{
    private const string CheckPath = "/grpc.health.v1.Health/Check";
    private const string WatchPath = "/grpc.health.v1.Health/Watch";
    private GrpcTestServer _server = null!;

    private HealthStatusRegistry Registry => _server.Services.GetRequiredService<HealthStatusRegistry>();

    public async Task InitializeAsync() => _server = await GrpcTestServer.StartAsync(s => s.AddGrpcHealth());

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Check_of_the_server_is_SERVING()
    {
        var response = await _server.Client.UnaryAsync(CheckPath, new HealthCheckRequest());

        Assert.Equal(StatusCode.OK, response.Status);
        Assert.Equal(ServingStatus.Serving, response.Single(HealthCheckResponse.Parser).Status);
    }

    [Fact]
    public async Task Check_reports_what_the_registry_holds_and_NOT_FOUND_for_unknown_services()
    {
        Registry.SetStatus("controlplane.v1.Routing", ServingStatus.NotServing);

        var known = await _server.Client.UnaryAsync(CheckPath, new HealthCheckRequest { Service = "controlplane.v1.Routing" });
        var unknown = await _server.Client.UnaryAsync(CheckPath, new HealthCheckRequest { Service = "nope" });

        Assert.Equal(ServingStatus.NotServing, known.Single(HealthCheckResponse.Parser).Status);
        Assert.Equal(StatusCode.NotFound, unknown.Status);
    }

    [Fact]
    public async Task Watch_sends_the_current_status_then_each_change()
    {
        Registry.SetStatus("svc", ServingStatus.Serving);
        var (response, frames, content) = await StartWatchAsync("svc");
        using (response)
        {
            Assert.Equal(ServingStatus.Serving, await NextAsync(frames));
            Registry.SetStatus("svc", ServingStatus.NotServing);
            Assert.Equal(ServingStatus.NotServing, await NextAsync(frames));
            Registry.ClearStatus("svc");
            Assert.Equal(ServingStatus.ServiceUnknown, await NextAsync(frames));
            Registry.SetStatus("svc", ServingStatus.Serving);
            Assert.Equal(ServingStatus.Serving, await NextAsync(frames));
        }

        content.Complete();
    }

    [Fact]
    public async Task Watch_of_an_unknown_service_starts_with_SERVICE_UNKNOWN_and_follows_it_when_it_appears()
    {
        var (response, frames, content) = await StartWatchAsync("later");
        using (response)
        {
            Assert.Equal(ServingStatus.ServiceUnknown, await NextAsync(frames));
            Registry.SetStatus("later", ServingStatus.Serving);
            Assert.Equal(ServingStatus.Serving, await NextAsync(frames));
        }

        content.Complete();
    }

    [Fact]
    public async Task Shutdown_turns_every_status_NOT_SERVING_and_ends_watches_with_UNAVAILABLE()
    {
        var (response, frames, content) = await StartWatchAsync("");
        Assert.Equal(ServingStatus.Serving, await NextAsync(frames));

        var stop = _server.App.StopAsync();
        Assert.Equal(ServingStatus.NotServing, await NextAsync(frames));
        Assert.Null(await frames.ReadAsync());
        Assert.Equal("14", Assert.Single(response.TrailingHeaders.GetValues("grpc-status")));
        await stop;
        Assert.True(Registry.TryGetStatus("", out var status));
        Assert.Equal(ServingStatus.NotServing, status);
        response.Dispose();
        content.Complete();
    }

    private async Task<(HttpResponseMessage, GrpcFrameReader, StreamingContent)> StartWatchAsync(string service)
    {
        // Like real clients, the single request is followed by END_STREAM; the response stays open.
        var content = new StreamingContent();
        content.Write(GrpcWire.Frame(new HealthCheckRequest { Service = service }));
        content.Complete();
        var request = GrpcWire.Request(WatchPath, content);
        var response = await _server.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        return (response, new GrpcFrameReader(await response.Content.ReadAsStreamAsync()), content);
    }

    private static async Task<ServingStatus> NextAsync(GrpcFrameReader frames) =>
        HealthCheckResponse.Parser.ParseFrom(await frames.ReadAsync() ?? throw new InvalidOperationException("The watch ended.")).Status;
}
