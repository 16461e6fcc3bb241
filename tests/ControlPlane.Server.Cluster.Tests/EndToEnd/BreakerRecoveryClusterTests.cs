using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using ControlPlane.Contracts.V1;
using ControlPlane.Server.Cluster.Tests.Support;
using ControlPlane.Service;
using ControlPlane.Testing.Redis;
using Xunit.Abstractions;

namespace ControlPlane.Server.Cluster.Tests.EndToEnd;

/// <summary>An outage, its end and the way back on three nodes: the breaker opens on failures reported through all
/// three, and after the cooldown the endpoint grain hands out at most <c>HalfOpenProbes</c> probes across the cluster
/// (while probes are slow to answer, every node keeps asking and is refused), the probes close it, and the primary's
/// share of the traffic ramps back on every node. Cooldowns and the ramp are shortened so it runs in seconds.</summary>
[Collection(ClusterCollection.Name)]
public sealed class BreakerRecoveryClusterTests(RedisServerFixture redis, ITestOutputHelper output)
{
    private const string Fleet = """
        fleet: { name: recovery-test }
        endpoints:
          - { id: prim, provider: p, model: m, model_version: v1, region: r, context_window: 128000, capabilities: [streaming], price_per_1k: { input: 0.001, output: 0.002 }, owner_team: t, on_call: t }
          - { id: back, provider: q, model: m, model_version: v1, region: r, context_window: 128000, capabilities: [streaming], price_per_1k: { input: 0.001, output: 0.002 }, owner_team: t, on_call: t }
        classes:
          - { name: chat, owner: t, mode: auto_fallback, primary: [prim], fallbacks: [back], slo: { availability: 0.99 } }
        """;

    private static readonly TimeSpan ProbeAnswerDelay = TimeSpan.FromMilliseconds(400);

    private static void Configure(ControlPlaneOptions o)
    {
        o.EvaluationPeriod = TimeSpan.FromMilliseconds(100);
        o.Health.Breaker.Cooldown = TimeSpan.FromSeconds(2);
        o.Health.Breaker.MaxCooldown = TimeSpan.FromSeconds(8);
        o.Health.Breaker.RampObservation = TimeSpan.FromSeconds(1);
        o.Health.Breaker.RampDuration = TimeSpan.FromSeconds(3);
    }

    [Fact]
    public async Task Three_nodes_share_the_probe_bound_and_all_ramp_back_to_the_primary()
    {
        await using var cluster = await TestCluster.StartAsync(redis.Endpoint, ["n1", "n2", "n3"], TestFleets.Load(Fleet, "recovery-test"), output, Configure);
        foreach (var node in cluster.Nodes)
        {
            Assert.Equal("prim", (await node.RouteAsync("chat")).EndpointId);
        }

        // The outage: five failures, reported through all three nodes, open the primary cluster-wide.
        for (var i = 0; i < 5; i++)
        {
            await cluster[i % 3].Routing.ReportOutcomeAsync(Outcome("prim", OutcomeStatus.ServerError, ""));
        }

        foreach (var node in cluster.Nodes)
        {
            var d = await node.RouteUntilAsync("chat", d => d.RouteReason == "primary_breaker_open");
            Assert.Equal("back", d.EndpointId);
        }

        // The provider is back. Three clients, one per node, route and report; a probe's answer takes a while, so the
        // nodes keep wanting probes while the first ones are out.
        var clock = Stopwatch.StartNew();
        var log = new ConcurrentQueue<(int Node, TimeSpan At, string Endpoint, string Reason)>();
        var pending = new ConcurrentBag<Task>();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var workers = Enumerable.Range(0, 3).Select(n => Task.Run(async () =>
        {
            var node = cluster[n];
            var tailOnPrimary = 0;
            // Until this node has sent 1,000 requests in a row to the primary at full share (over a second).
            while (!stop.IsCancellationRequested && tailOnPrimary < 1_000)
            {
                RouteDecision d;
                try
                {
                    d = await node.RouteAsync("chat", cancellationToken: stop.Token);
                }
                catch (Grpc.Core.RpcException) when (stop.IsCancellationRequested)
                {
                    break;
                }

                log.Enqueue((n, clock.Elapsed, d.EndpointId, d.RouteReason));
                tailOnPrimary = d.RouteReason == "primary" ? tailOnPrimary + 1 : 0;
                var outcome = Outcome(d.EndpointId, OutcomeStatus.Success, d.DecisionId);
                if (d.RouteReason == "half_open_probe")
                {
                    pending.Add(Task.Run(async () =>
                    {
                        await Task.Delay(ProbeAnswerDelay);
                        await node.Routing.ReportOutcomeAsync(outcome);
                    }));
                }
                else if (d.EndpointId.Length > 0)
                {
                    await node.Routing.ReportOutcomeAsync(outcome);
                }
            }
        })).ToList();
        await Task.WhenAll(workers);
        await Task.WhenAll(pending);
        Assert.False(stop.IsCancellationRequested,
            $"the primary did not come back on every node within a minute; {log.Count(d => d.Reason == "half_open_probe")} probes");

        var decisions = log.ToList();
        var probes = decisions.Where(d => d.Reason == "half_open_probe").ToList();
        output.WriteLine($"{decisions.Count} decisions; probes at {string.Join(", ", probes.Select(p => $"n{p.Node + 1}@{p.At.TotalMilliseconds:F0}ms"))}");
        Assert.All(probes, p => Assert.Equal("prim", p.Endpoint));
        Assert.Equal(3, probes.Count);

        // No other decision reached the primary before the probes closed the breaker.
        var lastProbe = probes.Max(p => p.At);
        var closedFrom = decisions.Where(d => d.Endpoint == "prim" && d.Reason != "half_open_probe").Min(d => d.At);
        Assert.True(closedFrom > lastProbe, "the primary took ordinary traffic while half-open");
        var waitingForProbes = decisions.Count(d => d.At > probes[0].At && d.At < lastProbe + ProbeAnswerDelay && d.Endpoint == "back");
        Assert.True(waitingForProbes > 30, $"only {waitingForProbes} decisions went to the fallback while the probes were out");

        // The ramp: the primary's share per 500 ms after closing starts low and rises to everything, on every node.
        var shares = new List<double>();
        for (var from = closedFrom; from < clock.Elapsed; from += TimeSpan.FromMilliseconds(500))
        {
            var bucket = decisions.Where(d => d.At >= from && d.At < from + TimeSpan.FromMilliseconds(500)).ToList();
            if (bucket.Count > 0)
            {
                shares.Add(bucket.Count(d => d.Endpoint == "prim") / (double)bucket.Count);
            }
        }

        output.WriteLine("primary share per 500 ms after closing: " + string.Join(" ", shares.Select(s => s.ToString("F2", CultureInfo.InvariantCulture))));
        Assert.True(shares[0] < 0.35, $"first share {shares[0]:F2}");
        Assert.Contains(shares, s => s is > 0.35 and < 0.95);
        // The last bucket may hold a decision made a hair before the ramp's final step reached a node: "everything" is
        // at least 99 %, and every decision that went elsewhere after closing says why (the ramp).
        Assert.True(shares[^1] >= 0.99, $"last share {shares[^1]:F3}");
        Assert.All(decisions.Where(d => d.At >= closedFrom && d.Endpoint == "back"), d => Assert.Equal("primary_recovering", d.Reason));
        for (var n = 0; n < 3; n++)
        {
            Assert.Contains(decisions, d => d.Node == n && d.Reason == "primary_recovering");
        }
    }

    private static Outcome Outcome(string endpointId, OutcomeStatus status, string decisionId) => new()
    {
        DecisionId = decisionId,
        EndpointId = endpointId,
        WorkloadClass = "chat",
        Status = status,
        HttpStatus = status == OutcomeStatus.Success ? 200 : 503,
        LatencyMs = 200,
    };
}
