using System.Diagnostics;
using System.Globalization;
using System.Net;
using ControlPlane.Server.Cluster.Tests.Support;
using ControlPlane.Testing.Redis;
using Grpc.Core;
using Xunit.Abstractions;

namespace ControlPlane.Server.Cluster.Tests.EndToEnd;

/// <summary>Two silos (<c>--role silo</c>: grains, admin API, no data plane) and two thin data-plane nodes
/// (<c>--role data-plane</c>: Orleans clients that find the silos' gateways through Redis and serve Routing).</summary>
[Collection(ClusterCollection.Name)]
public sealed class ThinDataPlaneTests(RedisServerFixture redis, ITestOutputHelper output)
{
    private static readonly TimeSpan FailoverPatience = TimeSpan.FromSeconds(60);

    private long _crashTicks = long.MaxValue;

    [Fact]
    public async Task Data_plane_nodes_share_a_limit_follow_overrides_and_keep_routing_after_a_silo_crash()
    {
        var fleet = TestFleets.Load(TestFleets.Thin, "thin-test");
        // The clock starts before the grains activate (with full buckets), so refill is never under-counted.
        var clock = Stopwatch.StartNew();
        await using var cluster = new TestCluster(redis.Endpoint, fleet, output);
        await cluster.StartNodesAsync(NodeRole.Silo, "s1", "s2");
        await cluster.StartNodesAsync(NodeRole.DataPlane, "d1", "d2");
        var started = clock.Elapsed;
        var silos = cluster.Silos;
        var dataPlane = cluster.DataPlane;
        Assert.Equal(2, dataPlane.Count);

        // 1. An RPM limit of 600 holds across the two data-plane nodes.
        var perNode = await Task.WhenAll(dataPlane.Select(node => RpmLoad.RouteForAsync(node, TimeSpan.FromSeconds(6), workers: 3)));
        var elapsed = clock.Elapsed;
        var admitted = perNode.Sum(r => r.Admitted);
        var bound = 600 + (long)Math.Ceiling(elapsed.TotalSeconds * 10);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"rpm: admitted {admitted} (d1 {perNode[0].Admitted}, d2 {perNode[1].Admitted}), refused {perNode.Sum(r => r.Refused)}, errors {perNode.Sum(r => r.Errors)}, " +
            $"in {elapsed.TotalSeconds:F1} s since before start ({started.TotalSeconds:F1} s to start 4 nodes); bound {bound}; 2 x 600 would be 1200"));
        Assert.InRange(admitted, 1, bound);
        Assert.True(perNode.Sum(r => r.Refused) > 0, "the load must exceed the limit for the test to mean anything");
        Assert.All(perNode, r => Assert.Equal(0, r.Errors));
        Assert.All(perNode, r => Assert.True(r.Admitted > 0));
        Assert.True(admitted >= 450, $"the data plane admitted only {admitted} of a full 600 bucket");

        // 2. A breaker forced open through silo 1 reaches both data-plane nodes; auto through silo 2 restores them.
        foreach (var node in dataPlane)
        {
            Assert.Equal(("primary", "main"), await RouteWebAsync(node));
        }

        clock.Restart();
        using (var response = await silos[0].PostAdminAsync("admin/v1/endpoints/main/breaker", """{"state":"open","reason":"INC-9"}""", "alice"))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        var forced = await ClusterEndToEndTests.EveryNodeAsync(cluster, clock, "web", d => d.RouteReason == "forced_override", d => Assert.Equal("backup", d.EndpointId));
        using (var response = await silos[1].PostAdminAsync("admin/v1/endpoints/main/breaker", """{"state":"auto","reason":"INC-9 over"}""", "bob"))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        clock.Restart();
        var restored = await ClusterEndToEndTests.EveryNodeAsync(cluster, clock, "web", d => d.RouteReason == "primary", d => Assert.Equal("main", d.EndpointId));
        output.WriteLine($"force open via s1: d1, d2 forced_override after {string.Join(", ", forced.Select(ClusterEndToEndTests.Ms))}; " +
            $"auto via s2: back on main after {string.Join(", ", restored.Select(ClusterEndToEndTests.Ms))}");

        // 3. The silo hosting endpoint 'main' crashes while both data-plane nodes keep routing.
        var host = (await silos[0].GetAdminJsonAsync("admin/v1/endpoints/main")).GetProperty("host").GetString()!;
        var victim = silos.Single(s => host.Contains(s.SiloEndpoint!, StringComparison.Ordinal));
        var survivor = silos.Single(s => s != victim);
        output.WriteLine($"'main' lives on {victim.Name} ({host}); crashing it (app disposed without StopAsync: non-graceful Orleans shutdown), {survivor.Name} survives");
        using var stopLoad = new CancellationTokenSource();
        var crashClock = Stopwatch.StartNew();
        var load = dataPlane.Select(node => KeepRoutingAsync(node, crashClock, stopLoad.Token)).ToList();
        await Task.Delay(500);
        var crashAt = crashClock.Elapsed;
        Interlocked.Exchange(ref _crashTicks, crashAt.Ticks);
        await cluster.CrashAsync(victim);
        var crashed = crashClock.Elapsed;

        // 4. A new override through the surviving silo reaches both data-plane nodes. The admin call may answer 503
        // until the survivor has declared the crashed silo dead and the grain is activated again.
        await survivor.PostAdminOkAsync("admin/v1/endpoints/main/breaker", """{"state":"open","reason":"after the crash"}""", "carol", FailoverPatience);
        var accepted = crashClock.Elapsed;
        var reached = await Task.WhenAll(dataPlane.Select(async node =>
        {
            await node.RouteUntilAsync("web", d => d.RouteReason == "forced_override", FailoverPatience);
            return crashClock.Elapsed;
        }));
        await Task.Delay(500);
        await stopLoad.CancelAsync();
        var stats = await Task.WhenAll(load);

        output.WriteLine($"crash at {ClusterEndToEndTests.Ms(crashAt)} (disposed after {ClusterEndToEndTests.Ms(crashed - crashAt)}); " +
            $"override accepted by {survivor.Name} at {ClusterEndToEndTests.Ms(accepted)}; d1, d2 forced_override at {string.Join(", ", reached.Select(ClusterEndToEndTests.Ms))}");
        for (var i = 0; i < dataPlane.Count; i++)
        {
            var s = stats[i];
            output.WriteLine($"{dataPlane[i].Name} while the silo crashed: {s.Routed} routed ({s.RoutedAfterCrash} after the crash), {s.Errors} errors, " +
                $"slowest Route {ClusterEndToEndTests.Ms(s.Slowest)}{(s.LastError is null ? "" : $"; last error {s.LastError}")}");
        }

        Assert.All(stats, s => Assert.Equal(0, s.Errors));
        Assert.All(stats, s => Assert.True(s.RoutedAfterCrash > 0));
        var view = await survivor.GetAdminJsonAsync("admin/v1/endpoints/main");
        Assert.Contains(survivor.SiloEndpoint!, view.GetProperty("host").GetString(), StringComparison.Ordinal);
        Assert.Equal("carol", view.GetProperty("override").GetProperty("actor").GetString());
    }

    private static async Task<(string, string)> RouteWebAsync(ClusterNode node)
    {
        var decision = await node.RouteAsync("web");
        return (decision.RouteReason, decision.EndpointId);
    }

    private async Task<LoadStats> KeepRoutingAsync(ClusterNode node, Stopwatch clock, CancellationToken stop)
    {
        var stats = new LoadStats();
        while (!stop.IsCancellationRequested)
        {
            var began = clock.Elapsed;
            try
            {
                await node.RouteAsync("web");
                stats.Routed++;
                if (began.Ticks > Interlocked.Read(ref _crashTicks))
                {
                    stats.RoutedAfterCrash++;
                }
            }
            catch (RpcException error)
            {
                stats.Errors++;
                stats.LastError = $"{error.StatusCode} {error.Status.Detail}";
            }

            var took = clock.Elapsed - began;
            stats.Slowest = took > stats.Slowest ? took : stats.Slowest;
            await Task.Delay(10, CancellationToken.None);
        }

        return stats;
    }

    private sealed class LoadStats
    {
        public long Routed { get; set; }

        public long RoutedAfterCrash { get; set; }

        public long Errors { get; set; }

        public TimeSpan Slowest { get; set; }

        public string? LastError { get; set; }
    }
}
