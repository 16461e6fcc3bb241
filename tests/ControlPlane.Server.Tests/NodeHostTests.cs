using System.Net;
using ControlPlane.Contracts.V1;
using ControlPlane.Server.Tests.EndToEnd;
using ControlPlane.Server.Tests.Support;
using ControlPlane.Testing;
using Grpc.Health.V1;
using Microsoft.Extensions.DependencyInjection;
using V1 = Grpc.Reflection.V1;

namespace ControlPlane.Server.Tests;

/// <summary>A node built by the same code as Program, on free loopback ports.</summary>
public sealed class NodeHostTests
{
    private static readonly string[] DataPlaneServices =
    [
        "controlplane.v1.Admin", "controlplane.v1.Routing", "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
    ];

    [Fact]
    public async Task Node_serves_health_reflection_and_diagnostics_when_enabled()
    {
        await using var node = await ControlPlaneNode.StartInMemoryAsync(enableDiagnostics: true);

        var health = await node.Raw.UnaryAsync("/grpc.health.v1.Health/Check", new HealthCheckRequest());
        var reflection = await node.Raw.CallAsync("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
            GrpcWire.Frame(new V1.ServerReflectionRequest { ListServices = "" }));
        var echo = await node.Raw.UnaryAsync("/controlplane.v1.Diagnostics/Echo", new EchoRequest { Message = "ping" });

        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, health.Single(HealthCheckResponse.Parser).Status);
        Assert.Equal(
            DataPlaneServices.Append("controlplane.v1.Diagnostics").Order(StringComparer.Ordinal),
            reflection.Single(V1.ServerReflectionResponse.Parser).ListServicesResponse.Service.Select(s => s.Name).Order(StringComparer.Ordinal));
        Assert.Equal("ping", echo.Single(EchoResponse.Parser).Message);
    }

    [Fact]
    public async Task Diagnostics_is_off_by_default_and_not_listed()
    {
        await using var node = await ControlPlaneNode.StartInMemoryAsync();

        var echo = await node.Raw.UnaryAsync("/controlplane.v1.Diagnostics/Echo", new EchoRequest { Message = "ping" });
        var reflection = await node.Raw.CallAsync("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
            GrpcWire.Frame(new V1.ServerReflectionRequest { ListServices = "" }));

        Assert.Equal(StatusCode.Unimplemented, echo.Status);
        Assert.Equal(DataPlaneServices,
            reflection.Single(V1.ServerReflectionResponse.Parser).ListServicesResponse.Service.Select(s => s.Name).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Node_reports_its_identity_and_bound_addresses()
    {
        await using var node = await ControlPlaneNode.StartAsync(new NodeOptions { Storage = ControlPlane.Service.ControlPlaneStorage.Memory }, null, defaultNodeName: true);

        var identity = node.Services.GetRequiredService<NodeIdentity>();

        Assert.Equal(NodeRole.Both, identity.Role);
        Assert.Null(identity.Redis);
        Assert.Equal("cp", identity.ClusterId);
        // The gRPC port is not known before binding port 0: the default name then ends with the process id.
        Assert.EndsWith("-" + Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture), identity.NodeName, StringComparison.Ordinal);
        Assert.Equal("127.0.0.1", node.GrpcAddress.Host);
        Assert.Equal("127.0.0.1", node.AdminAddress.Host);
        Assert.NotEqual(node.GrpcAddress.Port, node.AdminAddress.Port);
    }

    [Fact]
    public async Task The_admin_port_serves_the_admin_API_and_gRPC_Admin_only_and_the_gRPC_port_neither()
    {
        await using var node = await ControlPlaneNode.StartInMemoryAsync();

        using var adminOnGrpcPort = await node.Raw.GetAsync("admin/v1/fleet");
        var grpcAdminOnGrpcPort = await node.Raw.UnaryAsync("/controlplane.v1.Admin/GetFleet", new GetFleetRequest());
        var healthOnAdminPort = await node.AdminRaw.UnaryAsync("/grpc.health.v1.Health/Check", new HealthCheckRequest());
        var routeOnAdminPort = await node.AdminRaw.UnaryAsync("/controlplane.v1.Routing/Route", new RouteRequest { WorkloadClass = "customer_chat" });
        var grpcAdminOnAdminPort = await node.AdminRaw.UnaryAsync("/controlplane.v1.Admin/GetFleet", new GetFleetRequest());
        using var fleet = await node.Admin.GetAsync("admin/v1/fleet");

        Assert.Equal(HttpStatusCode.NotFound, adminOnGrpcPort.StatusCode);
        Assert.Equal(StatusCode.Unimplemented, grpcAdminOnGrpcPort.Status);
        Assert.Equal(StatusCode.Unimplemented, healthOnAdminPort.Status);
        Assert.Equal(StatusCode.Unimplemented, routeOnAdminPort.Status);
        Assert.Equal(StatusCode.OK, grpcAdminOnAdminPort.Status);
        Assert.Equal(8, grpcAdminOnAdminPort.Single(FleetView.Parser).Endpoints.Count);
        Assert.Equal(HttpStatusCode.OK, fleet.StatusCode);
    }

    [Fact]
    public async Task Headers_a_caller_sets_do_not_open_the_admin_API_on_the_gRPC_port()
    {
        await using var node = await ControlPlaneNode.StartInMemoryAsync();

        // An admin route asked for with a gRPC content type (and the admin's own credential) is still not served there,
        // nor is the Admin service under another spelling of its path (routing matches path segments case-insensitively).
        foreach (var (method, path) in new[] { (HttpMethod.Get, "admin/v1/audit/export"), (HttpMethod.Get, "admin/v1/keys"), (HttpMethod.Post, "admin/v1/fleet/reload") })
        {
            using var request = new HttpRequestMessage(method, path)
            {
                Content = new ByteArrayContent([]), Version = HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            };
            request.Content.Headers.TryAddWithoutValidation("Content-Type", "application/grpc");
            request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + TestCredentials.AdminKey);
            using var response = await node.Raw.SendAsync(request);
            Assert.True(response.StatusCode == HttpStatusCode.NotFound
                || response.Headers.TryGetValues("grpc-status", out var status) && status.Single() == "12",
                $"{method} {path} on the gRPC port answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
            Assert.DoesNotContain("\"entries\"", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        var otherSpelling = await node.Raw.UnaryAsync("/controlplane.v1.admin/GetFleet", new GetFleetRequest());
        Assert.Equal(StatusCode.Unimplemented, otherSpelling.Status);
        Assert.DoesNotContain((await node.GetAdminJsonAsync("admin/v1/audit")).GetProperty("entries").EnumerateArray(),
            e => e.GetProperty("action").GetString() == "fleet.reload");
    }

    [Fact]
    public async Task A_node_stops_cleanly_and_its_ports_are_released()
    {
        var node = await ControlPlaneNode.StartInMemoryAsync();
        var grpcPort = node.GrpcAddress.Port;
        await node.AssertServingAsync();

        await node.DisposeAsync();

        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, grpcPort);
        listener.Start();
    }
}
