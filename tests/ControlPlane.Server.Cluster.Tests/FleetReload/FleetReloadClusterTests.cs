using System.Diagnostics;
using System.Net;
using ControlPlane.Contracts.V1;
using ControlPlane.Fleet;
using ControlPlane.Server.Cluster.Tests.Support;
using ControlPlane.Testing.Redis;
using Xunit.Abstractions;

namespace ControlPlane.Server.Cluster.Tests.FleetReload;

/// <summary>A fleet reload through one node of three (in-process members on a real <c>redis-server</c>): every node
/// routes by the new fleet within the propagation bound, and a member restarted with the older file keeps it.</summary>
[Collection(ClusterCollection.Name)]
public sealed class FleetReloadClusterTests(RedisServerFixture redis, ITestOutputHelper output) : IDisposable
{
    private const string Fleet = """
        fleet: { name: reload-test, version: "1" }
        endpoints:
          - { id: a, provider: p, model: m, model_version: v1, region: r, context_window: 128000, capabilities: [streaming], price_per_1k: { input: 0.001, output: 0.002 }, limits: { rpm: 6000 }, owner_team: t, on_call: t }
          - { id: b, provider: q, model: m, model_version: v1, region: r, context_window: 128000, capabilities: [streaming, vision], price_per_1k: { input: 0.001, output: 0.002 }, owner_team: t, on_call: t }
        classes:
          - { name: chat, owner: t, mode: auto_fallback, primary: [a], fallbacks: [b], slo: { availability: 0.99 } }
        """;

    // The push reaches every node at once; the bound asserted here is well under the watchers' renewal poll (20 s).
    private static readonly TimeSpan PropagationBound = TimeSpan.FromSeconds(5);

    private readonly string _file = Path.Combine(Path.GetTempPath(), $"cluster-reload-{Guid.NewGuid():N}.yaml");

    [Fact]
    public async Task A_reload_through_one_node_reaches_every_node_and_a_restarted_node_keeps_it()
    {
        await File.WriteAllTextAsync(_file, Fleet);
        await using var cluster = await TestCluster.StartAsync(redis.Endpoint, ["n1", "n2", "n3"], FleetLoader.LoadFile(_file), output);
        foreach (var node in cluster.Nodes)
        {
            Assert.Equal("b", (await VisionAsync(node)).EndpointId);
        }

        // Endpoint a gains vision and a higher limit: a Route that needs vision may now go to the primary.
        await File.WriteAllTextAsync(_file, Fleet.Replace("capabilities: [streaming], price_per_1k: { input: 0.001, output: 0.002 }, limits: { rpm: 6000 }",
            "capabilities: [streaming, vision], price_per_1k: { input: 0.001, output: 0.002 }, limits: { rpm: 9000 }", StringComparison.Ordinal));
        var clock = Stopwatch.StartNew();
        var reload = await cluster[0].PostAdminOkAsync("admin/v1/fleet/reload", """{"reason":"a gained vision"}""", "ops");
        var answered = clock.Elapsed;
        Assert.Equal(1, reload.GetProperty("version").GetInt64());

        var reached = await Task.WhenAll(cluster.Nodes.Select(async node =>
        {
            await Poll.UntilAsync(async () => (await VisionAsync(node)).EndpointId == "a", () => $"{node.Name} still routes vision away from a", PropagationBound);
            return clock.Elapsed;
        }));
        output.WriteLine($"reload: admin answered after {answered.TotalMilliseconds:F0} ms; vision routed to a on n1, n2, n3 after {string.Join(", ", reached.Select(t => $"{t.TotalMilliseconds:F0} ms"))}");
        Assert.All(reached, t => Assert.True(t < PropagationBound));
        foreach (var node in cluster.Nodes)
        {
            var endpoint = await node.GetAdminJsonAsync("admin/v1/endpoints/a");
            Assert.Equal(9000, endpoint.GetProperty("quota").GetProperty("requestsPerMinute").GetInt64());
        }

        // n3 restarts with the fleet it was started with (the older one): it runs the reloaded generation.
        await cluster.StopAsync(cluster[2]);
        await cluster.StartNodesAsync(NodeRole.Both, "n3");
        Assert.Equal("a", (await VisionAsync(cluster[2])).EndpointId);
    }

    public void Dispose() => File.Delete(_file);

    private static async Task<RouteDecision> VisionAsync(ClusterNode node)
    {
        var request = new RouteRequest { WorkloadClass = "chat", EstimatedInputTokens = 100, MaxOutputTokens = 100, RequestId = Guid.NewGuid().ToString("N") };
        request.RequiredCapabilities.Add("vision");
        return await node.Routing.RouteAsync(request, deadline: DateTime.UtcNow.AddSeconds(10));
    }
}
