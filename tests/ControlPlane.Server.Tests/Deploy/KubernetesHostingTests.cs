using System.Net;
using ControlPlane.Fleet;
using ControlPlane.Server.Tests.EndToEnd;
using ControlPlane.Server.Tests.Support;
using ControlPlane.Testing;
using ControlPlane.Testing.Redis;
using Grpc.Health.V1;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Hosting.Kubernetes;

namespace ControlPlane.Server.Tests.Deploy;

/// <summary>What --kubernetes and the Redis password do to a real node.</summary>
public sealed class KubernetesHostingTests
{
    private static NodeOptions KubernetesNode() => new()
    {
        Kubernetes = true,
        RedisEndpoint = "127.0.0.1:1",
        NodeName = "controlplane-abc12",
        AdvertiseAddress = "127.0.0.1",
        ClusterPrefix = "cp-us-east",
        SiloPort = 0,
        GatewayPort = 0,
        GrpcEndpoint = new IPEndPoint(IPAddress.Loopback, 0),
        AdminEndpoint = new IPEndPoint(IPAddress.Loopback, 0),
        AdminKey = TestCredentials.AdminKey,
    };

    [Fact]
    public async Task Kubernetes_turns_on_Orleans_Kubernetes_hosting_on_the_silo_keeping_the_nodes_identity()
    {
        // Orleans reads POD_NAMESPACE itself (NodeEnvironment insists on it in a pod); no other test reads it.
        var namespaceBefore = Environment.GetEnvironmentVariable(KubernetesHostingOptions.PodNamespaceEnvironmentVariable);
        Environment.SetEnvironmentVariable(KubernetesHostingOptions.PodNamespaceEnvironmentVariable, namespaceBefore ?? "controlplane-test");
        try
        {
            // Built, not started: the Kubernetes agent calls the API server when the silo starts.
            await using var app = NodeHost.Build(KubernetesNode(), FleetLocator.Load(null), builder => builder.Logging.ClearProviders());

            var hosting = app.Services.GetRequiredService<IOptions<KubernetesHostingOptions>>().Value;
            var silo = app.Services.GetRequiredService<IOptions<SiloOptions>>().Value;
            var cluster = app.Services.GetRequiredService<IOptions<ClusterOptions>>().Value;
            var endpoints = app.Services.GetRequiredService<IOptions<EndpointOptions>>().Value;

            // The pod of a silo the cluster declared dead is deleted (the Deployment replaces it; RBAC verb delete).
            Assert.True(hosting.DeleteDefunctSiloPods);
            // Kubernetes hosting names the silo after its pod (POD_NAME; the machine name outside a pod), which in a pod
            // is the node name NodeEnvironment took from the same variable.
            Assert.Equal(Environment.GetEnvironmentVariable(KubernetesHostingOptions.PodNameEnvironmentVariable) ?? Environment.MachineName, silo.SiloName);
            Assert.Equal(NodeHost.ServiceId, cluster.ServiceId);
            Assert.Equal("cp-us-east", cluster.ClusterId);
            Assert.Equal(IPAddress.Loopback, endpoints.AdvertisedIPAddress);
        }
        finally
        {
            Environment.SetEnvironmentVariable(KubernetesHostingOptions.PodNamespaceEnvironmentVariable, namespaceBefore);
        }
    }

    [Fact]
    public async Task Without_kubernetes_the_silo_has_no_Kubernetes_hosting()
    {
        await using var app = NodeHost.Build(KubernetesNode() with { Kubernetes = false }, FleetLocator.Load(null), builder => builder.Logging.ClearProviders());

        Assert.False(app.Services.GetRequiredService<IOptions<KubernetesHostingOptions>>().Value.DeleteDefunctSiloPods);
        Assert.Equal("controlplane-abc12", app.Services.GetRequiredService<IOptions<SiloOptions>>().Value.SiloName);
    }

    [Fact]
    public async Task A_cluster_node_joins_a_Redis_that_requires_a_password_with_the_configured_one()
    {
        await using var redis = await RedisServerFixture.StartNewAsync(new RedisServerOptions { RequirePass = "k8s-secret-" + Guid.NewGuid().ToString("N") });
        // The Redis refuses callers without the password.
        using (var tcp = new System.Net.Sockets.TcpClient())
        {
            await tcp.ConnectAsync(IPAddress.Loopback, redis.Port);
            var stream = tcp.GetStream();
            await stream.WriteAsync("PING\r\n"u8.ToArray());
            var buffer = new byte[256];
            var read = await stream.ReadAsync(buffer);
            Assert.StartsWith("-NOAUTH", System.Text.Encoding.ASCII.GetString(buffer, 0, read), StringComparison.Ordinal);
        }

        await using var node = await ControlPlaneNode.StartAsync(new NodeOptions
        {
            RedisEndpoint = redis.Endpoint,
            RedisPassword = redis.Password,
            NodeName = "pw-node",
            AdvertiseAddress = "127.0.0.1",
            ClusterPrefix = "pw-" + Guid.NewGuid().ToString("N")[..8],
            SiloPort = 0,
            GatewayPort = 0,
        }, fleet: null);

        var health = await node.Raw.UnaryAsync("/grpc.health.v1.Health/Check", new HealthCheckRequest());
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, health.Single(HealthCheckResponse.Parser).Status);
        Assert.NotEqual("0", (await redis.CliAsync("dbsize")).Trim());
    }
}
