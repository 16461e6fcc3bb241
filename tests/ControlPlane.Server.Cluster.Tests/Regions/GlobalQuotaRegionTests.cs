using System.Collections.Concurrent;
using System.Diagnostics;
using ControlPlane.Testing.Regions;
using Xunit.Abstractions;

namespace ControlPlane.Server.Cluster.Tests.Regions;

/// <summary>Global quotas on real processes: two regions × two nodes, each region its own Redis, one endpoint homed in
/// us-east limited to 600 requests a minute, routed on all four nodes as fast as they answer for more than a minute, the
/// federation link cut for 30 s in the middle. Across both regions together, every window admits at most one bucket's
/// capacity plus its refill over the window plus the partition allowance (docs/regions.md, "Global quotas").</summary>
[Collection(RegionsCollection.Name)]
public sealed class GlobalQuotaRegionTests(ITestOutputHelper output)
{
    private const long Rpm = 600;
    private const string LimitedClass = "limited_chat";

    private static string Fleet() =>
        RegionFleets.Basic().Replace(
            "{ id: us-main, provider: p1, model: m, model_version: v1, region: us-east, context_window: 128000, capabilities: [streaming], price_per_1k: { input: 0.001, output: 0.002 }, limits: { tpm: 0, rpm: 0 }",
            "{ id: us-main, provider: p1, model: m, model_version: v1, region: us-east, context_window: 128000, capabilities: [streaming], price_per_1k: { input: 0.001, output: 0.002 }, limits: { tpm: 0, rpm: 600 }",
            StringComparison.Ordinal)
        + "\n  - { name: limited_chat, owner: t, mode: queue_only, primary: [us-main], queue: { max_wait_ms: 0 }, slo: { availability: 0.99 } }\n";

    [Fact]
    public async Task A_600_rpm_limit_holds_across_both_regions_with_the_link_cut_mid_run()
    {
        var fleet = Fleet();
        Assert.Contains("rpm: 600", fleet, StringComparison.Ordinal);
        await using var regions = await TwoRegionFixture.StartAsync(output, fleetYaml: fleet);
        var clock = Stopwatch.StartNew();
        var admitted = new ConcurrentQueue<(double At, string Region)>();
        var run = TimeSpan.FromSeconds(75);
        var cutAt = TimeSpan.FromSeconds(25);
        var restoreAt = TimeSpan.FromSeconds(55);
        var drivers = regions.Cluster.Nodes.SelectMany(node => Enumerable.Range(0, 2).Select(async _ =>
        {
            while (clock.Elapsed < run)
            {
                var decision = await regions.TryRouteAsync(node, LimitedClass);
                if (decision?.EndpointId == RegionFleets.UsEndpoint)
                {
                    admitted.Enqueue((clock.Elapsed.TotalSeconds, node.Region.Name));
                }
            }
        })).ToList();
        await Task.Delay(cutAt);
        regions.CutLink();
        regions.Print("link cut");
        await Task.Delay(restoreAt - cutAt);
        regions.RestoreLink();
        regions.Print("link restored");
        await Task.WhenAll(drivers);

        var times = admitted.OrderBy(a => a.At).ToList();
        double Count(string region, double from, double to) => times.Count(a => a.Region == region && a.At >= from && a.At < to);
        regions.Print($"admitted: us-east {Count(TwoRegionCluster.UsEast, 0, 999)}, eu-west {Count(TwoRegionCluster.EuWest, 0, 999)}; " +
            $"during the cut eu-west {Count(TwoRegionCluster.EuWest, cutAt.TotalSeconds, restoreAt.TotalSeconds)}, " +
            $"us-east {Count(TwoRegionCluster.UsEast, cutAt.TotalSeconds, restoreAt.TotalSeconds)}");

        // Every window [a, b) (100 ms steps) admits at most the bucket (600) + its refill + eu-west's partition allowance
        // (a quarter of the limit, once per cut) + 2 % for the nodes' clock reads against the grains'.
        long allowance = Rpm / 4;
        var steps = (int)(run.TotalSeconds * 10) + 10;
        var perStep = new long[steps];
        foreach (var (at, _) in times)
        {
            perStep[Math.Min(steps - 1, (int)(at * 10))]++;
        }

        var prefix = new long[steps + 1];
        for (int i = 0; i < steps; i++)
        {
            prefix[i + 1] = prefix[i] + perStep[i];
        }

        string worst = "";
        long worstExcess = long.MinValue;
        for (int i = 0; i < steps; i++)
        {
            for (int j = i + 1; j <= steps; j++)
            {
                long bound = Rpm + (Rpm * (j - i) / 600) + allowance + (Rpm * 2 / 100);
                long excess = prefix[j] - prefix[i] - bound;
                if (excess > worstExcess)
                {
                    worstExcess = excess;
                    worst = $"{i / 10.0}s..{j / 10.0}s admitted {prefix[j] - prefix[i]} (bound {bound})";
                }
            }
        }

        regions.Print($"tightest window: {worst}");
        Assert.True(worstExcess <= 0, worst);
        // Both regions routed on the limit, and eu-west kept routing through the cut (its lease, then its share).
        Assert.True(Count(TwoRegionCluster.EuWest, 0, cutAt.TotalSeconds) > 0, "eu-west was granted nothing before the cut");
        Assert.True(Count(TwoRegionCluster.EuWest, cutAt.TotalSeconds + 20, restoreAt.TotalSeconds) > 0, "eu-west admitted nothing once its lease expired in the cut");
        Assert.True(Count(TwoRegionCluster.UsEast, 0, run.TotalSeconds) > 0, "us-east admitted nothing");
    }
}
