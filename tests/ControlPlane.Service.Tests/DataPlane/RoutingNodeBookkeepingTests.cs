using System.Diagnostics.Metrics;
using ControlPlane.Service.DataPlane;
using ControlPlane.Service.Grains;
using ControlPlane.Service.Tests.Support;
using Microsoft.Extensions.Time.Testing;
using Wire = ControlPlane.Contracts.V1;

namespace ControlPlane.Service.Tests.DataPlane;

/// <summary>What the node keeps between a Route and its outcome: decision ids, pending reservations, the outcome queue.</summary>
public sealed class RoutingNodeBookkeepingTests : IDisposable
{
    private const string Fleet = """
        endpoints:
          - { id: tok, provider: vllm, model: llama, model_version: v1, region: eu, context_window: 32000, price_per_1k: { input: 0, output: 0 }, limits: { tpm: 10000 }, owner_team: t, on_call: t }
          - { id: free, provider: vllm, model: llama, model_version: v1, region: eu, context_window: 32000, price_per_1k: { input: 0, output: 0 }, owner_team: t, on_call: t }
        classes:
          - { name: tokens, owner: t, mode: queue_only, primary: [tok], slo: { availability: 0.99 } }
          - { name: open, owner: t, mode: queue_only, primary: [free], slo: { availability: 0.99 } }
        """;

    private readonly FakeTimeProvider _time = new();
    private readonly TestStorage _storage = new();

    [Fact]
    public async Task Decision_ids_are_unique_and_only_the_exact_id_reconciles_once()
    {
        await using var node = await ServiceNode.StartAsync(_time, _storage, ServiceNode.Fleet(Fleet), o =>
        {
            o.NodeId = "node-7";
            o.LeaseSliceFraction = 0.5;
        });

        var decisions = Enumerable.Range(0, 3).Select(_ => node.Route("tokens", input: 1_000, maxOutput: 500)).ToList();
        Assert.All(decisions, d => Assert.Equal("tok", d.EndpointId));
        // A fixed-size signed record (DecisionIds), base64url.
        Assert.All(decisions, d => Assert.Matches("^[A-Za-z0-9_-]{64}$", d.DecisionId));
        Assert.Equal(3, decisions.Select(d => d.DecisionId).Distinct(StringComparer.Ordinal).Count());
        Assert.Equal(3, node.Node.PendingDecisionCount);

        var first = decisions[0].DecisionId;
        var second = decisions[1].DecisionId;
        Report(node, first, tokens: 100);
        // A repeat of a reported decision is dropped by the node that knows it.
        Report(node, first, tokens: 0);
        // A look-alike of another decision's id (one character changed, cut, extended, another case) is refused.
        foreach (var lookalike in new[] { second[..^1] + (second[^1] == 'A' ? 'B' : 'A'), second[1..], second + "x", (second[0] == 'Z' ? "Y" : "Z") + second[1..], second.ToLowerInvariant() })
        {
            var error = Assert.Throws<RoutingRequestException>(() => Report(node, lookalike, tokens: 0));
            Assert.Equal("decision_id", error.Field);
        }

        Assert.Equal(2, node.Node.PendingDecisionCount);
        Assert.Equal(1, node.Node.QueuedOutcomes);

        await node.Node.StopAsync(CancellationToken.None);
        // Used: 100 reconciled, two reservations still charged at their 1,500 estimate.
        var quota = (await node.Grains.GetGrain<IProviderEndpointGrain>("tok").GetDetailsAsync()).Quota;
        Assert.Equal(10_000 - 100 - 1_500 - 1_500, quota.AvailableTokens);
    }

    [Fact]
    public async Task Pending_decisions_are_swept_five_minutes_after_they_were_made()
    {
        await using var node = await ServiceNode.StartAsync(_time, _storage, ServiceNode.Fleet(Fleet));
        node.Route("open");
        _time.Advance(TimeSpan.FromMinutes(3));
        node.Route("open");
        Assert.Equal(2, node.Node.PendingDecisionCount);

        _time.Advance(TimeSpan.FromMinutes(3));

        Assert.Equal(1, await WaitAsync(() => node.Node.PendingDecisionCount, c => c <= 1));
    }

    [Fact]
    public async Task Outcomes_past_the_queue_bound_drop_the_oldest_and_the_rest_reach_the_grains()
    {
        const string nodeId = "bookkeeping-drop-node";
        using var meter = new NodeMeter(nodeId);
        await using var node = await ServiceNode.StartAsync(_time, _storage, ServiceNode.Fleet(Fleet), o =>
        {
            o.NodeId = nodeId;
            o.MaxQueuedOutcomes = 1_000;
        });

        for (var i = 0; i < 1_005; i++)
        {
            Report(node, "", tokens: 10, endpoint: "free", workloadClass: "open");
        }

        Assert.Equal(1_000, node.Node.QueuedOutcomes);
        Assert.Equal(1_000, meter.Queued());
        Assert.Equal(5, meter.Dropped);

        await node.Node.FlushOutcomesAsync();

        Assert.Equal(0, node.Node.QueuedOutcomes);
        Assert.Equal(1_000, meter.Delivered);
        Assert.Equal(1_000, (await node.Admin.GetEndpointAsync("free")).Health.Requests);
    }

    private static void Report(ServiceNode node, string decisionId, long tokens, string endpoint = "tok", string workloadClass = "tokens") =>
        node.Node.Report(new Wire.Outcome
        {
            DecisionId = decisionId,
            EndpointId = endpoint,
            WorkloadClass = workloadClass,
            Status = Wire.OutcomeStatus.Success,
            LatencyMs = 200,
            InputTokens = tokens,
        });

    private static async Task<T> WaitAsync<T>(Func<T> read, Func<T, bool> done)
    {
        // The sweep runs on the node's loop after the fake clock ticks; wait for its effect, bounded.
        for (var i = 0; i < 2000 && !done(read()); i++)
        {
            await Task.Delay(10);
        }

        return read();
    }

    /// <summary>The node's <c>ControlPlane.Routing</c> instruments, for one node id (tests run side by side).</summary>
    private sealed class NodeMeter : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly string _nodeId;
        private int _queued = -1;
        private long _dropped;
        private long _delivered;

        public NodeMeter(string nodeId)
        {
            _nodeId = nodeId;
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == RoutingMetrics.MeterName)
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<int>((instrument, value, tags, _) =>
            {
                if (Mine(tags) && instrument.Name == "routing.outcomes.queued")
                {
                    _queued = value;
                }
            });
            _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
            {
                if (!Mine(tags))
                {
                    return;
                }

                if (instrument.Name == "routing.outcomes.dropped")
                {
                    Interlocked.Add(ref _dropped, value);
                }
                else if (instrument.Name == "routing.outcomes.delivered")
                {
                    Interlocked.Add(ref _delivered, value);
                }
            });
            _listener.Start();
        }

        public long Dropped => Interlocked.Read(ref _dropped);

        public long Delivered => Interlocked.Read(ref _delivered);

        public int Queued()
        {
            _listener.RecordObservableInstruments();
            return _queued;
        }

        public void Dispose() => _listener.Dispose();

        private bool Mine(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "node" && Equals(tag.Value, _nodeId))
                {
                    return true;
                }
            }

            return false;
        }
    }

    public void Dispose() => _storage.Dispose();
}
