using System.Diagnostics.Metrics;
using ControlPlane.Service.DataPlane;
using ControlPlane.Service.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Wire = ControlPlane.Contracts.V1;

namespace ControlPlane.Service.Tests.DataPlane;

/// <summary>A class's retry budget (<c>retry_budget</c> in the fleet): retries (Route with attempt &gt; 0) are admitted
/// only within ratio × first attempts + the floor, cluster-wide, and a refused retry gets no endpoint and no quota.</summary>
public sealed class RetryBudgetTests : IDisposable
{
    // "stormy": 0.2 retries per first attempt plus 1 a second over a 10 s window (a floor of 10 retries per window).
    private const string RetryFleet = """
        endpoints:
          - { id: big, provider: p, model: m, model_version: v1, region: r, context_window: 128000, price_per_1k: { input: 0, output: 0 }, owner_team: t, on_call: t }
          - { id: other, provider: q, model: m, model_version: v1, region: r, context_window: 128000, price_per_1k: { input: 0, output: 0 }, owner_team: t, on_call: t }
        classes:
          - { name: stormy, owner: t, mode: auto_fallback, primary: [big], fallbacks: [other], retry_budget: { ratio: 0.2, min_per_second: 1, window_seconds: 10 }, slo: { availability: 0.99 } }
          - { name: calm, owner: t, mode: auto_fallback, primary: [big], fallbacks: [other], slo: { availability: 0.99 } }
        """;

    private readonly FakeTimeProvider _time = new();
    private readonly TestStorage _storage = new();

    [Fact]
    public async Task A_retry_storm_is_cut_to_the_budget_while_first_attempts_still_route_and_refusals_spend_no_quota()
    {
        var nodeId = "storm-" + Guid.NewGuid().ToString("N")[..8];
        using var meter = new RetryMeter(nodeId);
        await using var node = await ServiceNode.StartAsync(_time, _storage, ServiceNode.Fleet(RetryFleet), o => o.NodeId = nodeId);

        for (var i = 0; i < 100; i++)
        {
            Assert.Equal("big", node.Route("stormy").EndpointId);
        }

        var pending = node.Node.PendingDecisionCount;
        var answers = Enumerable.Range(0, 200).Select(_ => Retry(node.Node, "stormy")).ToList();

        // 0.2 × 100 first attempts + the floor of 10 (1 a second over 10 s, this node being the only one).
        var admitted = answers.Where(a => a.EndpointId.Length > 0).ToList();
        Assert.Equal(30, admitted.Count);
        Assert.All(admitted, a => Assert.Equal("other", a.EndpointId));
        var refused = answers.Where(a => a.EndpointId.Length == 0).ToList();
        Assert.Equal(170, refused.Count);
        Assert.All(refused, a => Assert.Equal(("retry_budget_exhausted", 0L, 0), (a.RouteReason, a.TimeoutMs, a.Fallbacks.Count)));
        Assert.Equal(200, answers.Select(a => a.DecisionId).Distinct().Count());
        // Only the admitted retries hold a reservation.
        Assert.Equal(pending + 30, node.Node.PendingDecisionCount);
        Assert.Equal((30L, 170L), (meter.Admitted("stormy"), meter.Refused("stormy")));

        // First attempts still route during the storm, and feed the budget; another class is untouched.
        for (var i = 0; i < 10; i++)
        {
            Assert.Equal("big", node.Route("stormy").EndpointId);
        }

        Assert.Equal(2, Enumerable.Range(0, 5).Count(_ => Retry(node.Node, "stormy").EndpointId.Length > 0));
        Assert.Equal("other", Retry(node.Node, "calm").EndpointId);

        // A window later the first attempts have aged out: only the floor is left.
        _time.Advance(TimeSpan.FromSeconds(11));
        Assert.Equal(10, Enumerable.Range(0, 50).Count(_ => Retry(node.Node, "stormy").EndpointId.Length > 0));
    }

    [Fact]
    public async Task On_three_nodes_the_floor_is_split_and_the_sum_of_admitted_retries_stays_within_the_cluster_budget()
    {
        await using var host = await ServiceNode.StartAsync(_time, _storage, ServiceNode.Fleet(RetryFleet), o => o.NodeId = "rb-1");
        var others = new List<RoutingNode>();
        try
        {
            for (var n = 2; n <= 3; n++)
            {
                var extra = new RoutingNode(host.Services.GetRequiredService<FleetCatalog>(), host.Grains, _time,
                    Options.Create(new ControlPlaneOptions { NodeId = "rb-" + n }), NullLogger<RoutingNode>.Instance);
                await extra.StartAsync(CancellationToken.None);
                others.Add(extra);
            }

            RoutingNode[] nodes = [host.Node, .. others];
            var stormy = host.Node.Snapshot.TryGetClassIndex("stormy", out var index) ? index : -1;
            // The class grain counts its subscribers and pushes the count when it grows: every node takes a third of the floor.
            for (var i = 0; i < 500 && nodes.Any(n => n.RetryBudgetNodes(stormy) != 3); i++)
            {
                await Task.Delay(10);
            }

            Assert.All(nodes, n => Assert.Equal(3, n.RetryBudgetNodes(stormy)));

            // Skewed first attempts: 90, 45 and 15 (150 in all), then a storm of retries on every node.
            int[] firsts = [90, 45, 15];
            for (var n = 0; n < 3; n++)
            {
                for (var i = 0; i < firsts[n]; i++)
                {
                    Assert.Equal("big", Route(nodes[n], "stormy", attempt: 0).EndpointId);
                }
            }

            var admitted = nodes.Select(n => Enumerable.Range(0, 200).Count(_ => Retry(n, "stormy").EndpointId.Length > 0)).ToList();

            // Each node: 0.2 × its first attempts + a third of the floor of 10 (3.33), rounded down.
            Assert.Equal([21, 12, 6], admitted);
            // Cluster-wide: 0.2 × 150 + 10 = 40 at most.
            Assert.InRange(admitted.Sum(), 1, 40);
        }
        finally
        {
            foreach (var extra in others)
            {
                await extra.DisposeAsync();
            }
        }
    }

    [Fact]
    public void The_budget_admits_concurrent_retries_exactly_up_to_its_limit()
    {
        var budgets = new RetryBudgets([new Fleet.RetryBudgetTargets { Ratio = 0.5, MinPerSecond = 0.2, Window = TimeSpan.FromSeconds(10) }], _time);
        for (var i = 0; i < 1_000; i++)
        {
            budgets.FirstAttempt(0);
        }

        var admitted = 0;
        Parallel.For(0, 4_000, _ =>
        {
            if (budgets.TryRetry(0))
            {
                Interlocked.Increment(ref admitted);
            }
        });

        // 0.5 × 1000 + 0.2 × 10.
        Assert.Equal(502, admitted);
    }

    [Fact]
    public void The_node_count_travels_between_silos_with_the_class_status()
    {
        var policy = ServiceNode.Fleet(RetryFleet).Policies[0];
        var json = System.Text.Json.JsonSerializer.Serialize(new ControlPlane.Service.Grains.ClassStatus("stormy", policy, 7, 3), ControlPlaneServiceCollectionExtensions.WireJson);

        var back = System.Text.Json.JsonSerializer.Deserialize<ControlPlane.Service.Grains.ClassStatus>(json, ControlPlaneServiceCollectionExtensions.WireJson);

        Assert.Equal(("stormy", 7L, 3), (back!.Name, back.Version, back.Nodes));
    }

    public void Dispose() => _storage.Dispose();

    private static Wire.RouteDecision Retry(RoutingNode node, string workloadClass) => Route(node, workloadClass, attempt: 1, exclude: "big");

    private static Wire.RouteDecision Route(RoutingNode node, string workloadClass, int attempt, string? exclude = null)
    {
        var request = new Wire.RouteRequest { WorkloadClass = workloadClass, EstimatedInputTokens = 1_000, MaxOutputTokens = 500, Attempt = attempt };
        if (exclude is not null)
        {
            request.ExcludeEndpointIds.Add(exclude);
        }

        return node.Route(request, null);
    }

    /// <summary>The node's retry counters, per class, for one node id (tests run side by side).</summary>
    private sealed class RetryMeter : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly Dictionary<(string Instrument, string Class), long> _counts = [];

        public RetryMeter(string nodeId)
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == RoutingMetrics.MeterName && instrument.Name.StartsWith("controlplane.retry_budget.", StringComparison.Ordinal)
                    && instrument.Meter.Tags?.Any(t => t.Key == ControlPlane.Service.Telemetry.ControlPlaneTelemetry.NodeTag && Equals(t.Value, nodeId)) == true)
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
            {
                string? workloadClass = null;
                foreach (var tag in tags)
                {
                    if (tag.Key == ControlPlane.Service.Telemetry.ControlPlaneTelemetry.Keys.WorkloadClass)
                    {
                        workloadClass = tag.Value as string;
                    }
                }

                if (workloadClass is not null)
                {
                    lock (_counts)
                    {
                        _counts[(instrument.Name, workloadClass)] = _counts.GetValueOrDefault((instrument.Name, workloadClass)) + value;
                    }
                }
            });
            _listener.Start();
        }

        public long Admitted(string workloadClass) => Read("controlplane.retry_budget.admitted", workloadClass);

        public long Refused(string workloadClass) => Read("controlplane.retry_budget.refusals", workloadClass);

        public void Dispose() => _listener.Dispose();

        private long Read(string instrument, string workloadClass)
        {
            lock (_counts)
            {
                return _counts.GetValueOrDefault((instrument, workloadClass));
            }
        }
    }
}
