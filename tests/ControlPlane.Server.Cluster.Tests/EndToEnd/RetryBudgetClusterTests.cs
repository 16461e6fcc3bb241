using System.Globalization;
using ControlPlane.Contracts.V1;
using ControlPlane.Server.Cluster.Tests.Support;
using ControlPlane.Testing.Redis;
using Xunit.Abstractions;

namespace ControlPlane.Server.Cluster.Tests.EndToEnd;

/// <summary>A class's retry budget over three cluster members (real silos on Redis): each node admits retries within
/// its share, and the sum stays within ratio × the cluster's first attempts + the floor.</summary>
[Collection(ClusterCollection.Name)]
public sealed class RetryBudgetClusterTests(RedisServerFixture redis, ITestOutputHelper output)
{
    // 0.2 retries per first attempt plus a floor of 0.5 a second over 60 s (30 retries per window, 10 per node).
    private const string Fleet = """
        fleet: { name: retry-test }
        endpoints:
          - { id: big, provider: p, model: m, model_version: v1, region: r, context_window: 128000, price_per_1k: { input: 0.001, output: 0.002 }, limits: { tpm: 0, rpm: 0 }, owner_team: t, on_call: t }
          - { id: other, provider: q, model: m, model_version: v1, region: r, context_window: 128000, price_per_1k: { input: 0.001, output: 0.002 }, limits: { tpm: 0, rpm: 0 }, owner_team: t, on_call: t }
        classes:
          - { name: stormy, owner: t, mode: auto_fallback, primary: [big], fallbacks: [other], retry_budget: { ratio: 0.2, min_per_second: 0.5, window_seconds: 60 }, slo: { availability: 0.99 } }
        """;

    [Fact]
    public async Task A_retry_storm_on_three_nodes_stays_within_the_cluster_wide_retry_budget()
    {
        await using var cluster = await TestCluster.StartAsync(redis.Endpoint, ["r1", "r2", "r3"], TestFleets.Load(Fleet, "retry-test"), output);
        int[] firsts = [50, 30, 10];
        for (var n = 0; n < 3; n++)
        {
            for (var i = 0; i < firsts[n]; i++)
            {
                Assert.Equal("big", (await cluster[n].RouteAsync("stormy")).EndpointId);
            }
        }

        var admitted = new int[3];
        var refused = new int[3];
        for (var n = 0; n < 3; n++)
        {
            for (var i = 0; i < 100; i++)
            {
                var retry = new RouteRequest { WorkloadClass = "stormy", EstimatedInputTokens = 1_000, MaxOutputTokens = 500, Attempt = 1, ExcludeEndpointIds = { "big" } };
                var decision = await cluster[n].Routing.RouteAsync(retry, deadline: DateTime.UtcNow.AddSeconds(10));
                if (decision.EndpointId.Length > 0)
                {
                    Assert.Equal(("other", "fallback_after_error"), (decision.EndpointId, decision.RouteReason));
                    admitted[n]++;
                }
                else
                {
                    Assert.Equal("retry_budget_exhausted", decision.RouteReason);
                    refused[n]++;
                }
            }
        }

        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"first attempts {string.Join(", ", firsts)}; retries admitted {string.Join(", ", admitted)} (sum {admitted.Sum()}), refused {string.Join(", ", refused)}; bound 0.2 x 90 + 30 = 48"));
        // Each node: 0.2 × its first attempts + a third of the floor (10).
        Assert.Equal([20, 16, 12], admitted);
        Assert.InRange(admitted.Sum(), 1, 48);
        // First attempts still route after the storm.
        foreach (var node in cluster.Nodes)
        {
            Assert.Equal("big", (await node.RouteAsync("stormy")).EndpointId);
        }
    }
}
