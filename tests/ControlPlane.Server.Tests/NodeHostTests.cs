using System.Net;
using ControlPlane.Contracts.V1;
using ControlPlane.Grpc;
using ControlPlane.Grpc.Tests.Support;
using Grpc.Health.V1;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;
using V1 = Grpc.Reflection.V1;

namespace ControlPlane.Server.Tests;

/// <summary>A node built by the same code as Program, on a free loopback port.</summary>
public sealed class NodeHostTests
{
    [Fact]
    public async Task Node_serves_health_reflection_and_diagnostics()
    {
        await using var node = await StartAsync(enableDiagnostics: true);

        var health = await node.Client.UnaryAsync("/grpc.health.v1.Health/Check", new HealthCheckRequest());
        var reflection = await node.Client.CallAsync("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
            GrpcWire.Frame(new V1.ServerReflectionRequest { ListServices = "" }));
        var echo = await node.Client.UnaryAsync("/controlplane.v1.Diagnostics/Echo", new EchoRequest { Message = "ping" });

        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, health.Single(HealthCheckResponse.Parser).Status);
        Assert.Equal(
            ["controlplane.v1.Diagnostics", "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"],
            reflection.Single(V1.ServerReflectionResponse.Parser).ListServicesResponse.Service.Select(s => s.Name));
        Assert.Equal("ping", echo.Single(EchoResponse.Parser).Message);
    }

    [Fact]
    public async Task Diagnostics_can_be_disabled()
    {
        await using var node = await StartAsync(enableDiagnostics: false);

        var echo = await node.Client.UnaryAsync("/controlplane.v1.Diagnostics/Echo", new EchoRequest { Message = "ping" });

        Assert.Equal(StatusCode.Unimplemented, echo.Status);
    }

    [Fact]
    public async Task Node_refuses_HTTP_1_1_with_a_clear_message()
    {
        await using var node = await StartAsync(enableDiagnostics: true);
        using var http1 = new HttpClient { BaseAddress = node.Address };

        using var response = await http1.PostAsync("grpc.health.v1.Health/Check", new ByteArrayContent([]));

        Assert.Equal(HttpStatusCode.UpgradeRequired, response.StatusCode);
        Assert.Contains("gRPC requires HTTP/2", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    internal static async Task<RunningNode> StartAsync(bool enableDiagnostics)
    {
        var options = new NodeOptions { GrpcEndpoint = new IPEndPoint(IPAddress.Loopback, 0), EnableDiagnostics = enableDiagnostics };
        var app = NodeHost.Build(options, builder => builder.Logging.ClearProviders());
        await app.StartAsync();
        return new RunningNode(app, new Uri(NodeHost.GrpcAddress(app) + "/"));
    }
}

internal sealed class RunningNode(WebApplication app, Uri address) : IAsyncDisposable
{
    public Uri Address { get; } = address;

    public WebApplication App { get; } = app;

    public HttpClient Client { get; } = new(new SocketsHttpHandler())
    {
        BaseAddress = address,
        DefaultRequestVersion = HttpVersion.Version20,
        DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
    };

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
    }
}
