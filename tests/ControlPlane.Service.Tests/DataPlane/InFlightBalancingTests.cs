using ControlPlane.Domain.Endpoints;
using ControlPlane.Service.Grains;
using ControlPlane.Service.Tests.Support;
using Microsoft.Extensions.Time.Testing;
using Wire = ControlPlane.Contracts.V1;

namespace ControlPlane.Service.Tests.DataPlane;

/// <summary>The node's in-flight count per endpoint (RoutingNode.InFlight.cs) in power-of-two-choices between two
/// primaries: with requests overlapping, the faster one no longer takes the whole class, and after an outage it takes
/// its share back within cooldown + ramp; counts are released by outcomes and, for outcomes that never come back to
/// this node, by expiry.</summary>
public sealed class InFlightBalancingTests : IDisposable
{
    // prim and back are both primaries; spare is the fallback.
    private static readonly string TwoPrimaries = BreakerRecoveryTests.Fleet
        .Replace("primary: [prim]", "primary: [prim, back]", StringComparison.Ordinal)
        .Replace("fallbacks: [back]", "fallbacks: [spare]", StringComparison.Ordinal)
        .Replace("classes:", """
          - id: spare
            provider: google
            model: gemini
            model_version: gemini-1
            region: us-east
            context_window: 32000
            price_per_1k: { input: 0, output: 0 }
            owner_team: t
            on_call: t
        classes:
        """, StringComparison.Ordinal);

    private readonly FakeTimeProvider _time = new();
    private readonly TestStorage _storage = new();

    [Fact]
    public async Task Two_healthy_primaries_with_overlapping_requests_both_receive_traffic()
    {
        await using var node = await ServiceNode.StartAsync(_time, _storage, ServiceNode.Fleet(TwoPrimaries), BreakerRecoveryTests.Configure);

        // One at a time (nothing in flight when the next is routed), the faster prim takes the whole class.
        var sequential = await WarmUpAsync(node);
        Assert.Equal(1.0, sequential);

        // Ten at a time, answered together: prim (200 ms) takes about 3 of 5, back (300 ms) the rest.
        var counts = await RouteBatchesAsync(node, batches: 20, concurrent: 10, primUp: true);
        var share = Share(counts);
        Assert.InRange(share, 0.5, 0.8);
        Assert.Equal(0, node.Node.Snapshot.InFlightAt(0) + node.Node.Snapshot.InFlightAt(1));
    }

    [Fact]
    public async Task After_an_outage_the_recovered_primary_takes_its_share_back_within_cooldown_and_ramp()
    {
        await using var node = await ServiceNode.StartAsync(_time, _storage, ServiceNode.Fleet(TwoPrimaries), BreakerRecoveryTests.Configure);
        var grain = node.Grains.GetGrain<IProviderEndpointGrain>("prim");
        Assert.Equal(1.0, await WarmUpAsync(node));

        // The outage: prim answers 503s and opens; back takes the class.
        node.Fail("prim", "chat", 20);
        await node.Node.FlushOutcomesAsync();
        Assert.Equal(0.0, Share(await RouteBatchesAsync(node, batches: 2, concurrent: 10, primUp: false)));

        // Cooldown (60 s), probes, then the ramp (20 s + 40 s) with ten requests in flight at a time, and 15 s more.
        _time.Advance(TimeSpan.FromSeconds(60));
        for (var step = 0; step < 600 && (await grain.GetDetailsAsync()).AutomaticState != BreakerState.Closed; step++)
        {
            await node.Node.AskForProbesAsync();
            await RouteBatchesAsync(node, batches: 1, concurrent: 5, primUp: true);
            _time.Advance(TimeSpan.FromMilliseconds(50));
        }

        Assert.Equal(BreakerState.Closed, (await grain.GetDetailsAsync()).AutomaticState);
        var shares = new List<double>();
        for (var second = 0; second < 75; second++)
        {
            _time.Advance(TimeSpan.FromSeconds(1));
            await grain.GetDetailsAsync();
            await node.Grains.GetGrain<IProviderEndpointGrain>("back").GetDetailsAsync();
            shares.Add(Share(await RouteBatchesAsync(node, batches: 5, concurrent: 10, primUp: true)));
        }

        var view = (await grain.GetDetailsAsync()).View;
        Assert.Equal((BreakerState.Closed, 1.0), (view.State, view.TrafficFraction));
        // Its share as before the outage (least loaded, not all): both keep getting traffic, so both keep fresh figures.
        var after = shares.Skip(65).Average();
        Assert.True(after is >= 0.5 and <= 0.8, $"prim's share after the ramp: {string.Join(" ", shares.Skip(55))}");
    }

    [Fact]
    public async Task Counts_are_released_by_outcomes_here_and_by_expiry_for_outcomes_reported_elsewhere()
    {
        await using var node = await ServiceNode.StartAsync(_time, _storage, ServiceNode.Fleet(BreakerRecoveryTests.Fleet), BreakerRecoveryTests.Configure);
        var decisions = Enumerable.Range(0, 5).Select(_ => node.Route("chat")).ToList();
        Assert.All(decisions, d => Assert.Equal("prim", d.EndpointId));
        Assert.Equal(5, node.Node.Snapshot.InFlightAt(0));

        // Two outcomes come back here: released at once.
        Report(node, decisions[0], success: true);
        Report(node, decisions[1], success: true);
        Assert.Equal(3, node.Node.Snapshot.InFlightAt(0));

        // The other three are reported to another node: after InFlightExpiry the node's loop stops counting them.
        _time.Advance(TimeSpan.FromSeconds(30));
        var fresh = node.Route("chat");
        Assert.Equal(4, node.Node.Snapshot.InFlightAt(0));
        _time.Advance(TimeSpan.FromSeconds(31));
        var left = await Eventually.WaitAsync(() => Task.FromResult(node.Node.Snapshot.InFlightAt(0)), n => n == 1, attempts: 1_000);
        Assert.Equal(1, left);

        // A late outcome of an expired decision releases nothing more; the fresh one's outcome releases its own.
        Report(node, decisions[2], success: true);
        Assert.Equal(1, node.Node.Snapshot.InFlightAt(0));
        Report(node, fresh, success: true);
        Assert.Equal(0, node.Node.Snapshot.InFlightAt(0));
    }

    // Three seconds of one-at-a-time traffic (prim 200 ms, back 300 ms) so both grains publish figures; prim's last share.
    private async Task<double> WarmUpAsync(ServiceNode node)
    {
        double share = 0;
        for (var second = 0; second < 3; second++)
        {
            share = Share(await RouteBatchesAsync(node, batches: 20, concurrent: 1, primUp: true));
            _time.Advance(TimeSpan.FromSeconds(1));
            await node.Grains.GetGrain<IProviderEndpointGrain>("prim").GetDetailsAsync();
            await node.Grains.GetGrain<IProviderEndpointGrain>("back").GetDetailsAsync();
        }

        return share;
    }

    // Routes `concurrent` requests before any is answered, then reports them all; `batches` times; then flushes.
    private static async Task<Dictionary<string, int>> RouteBatchesAsync(ServiceNode node, int batches, int concurrent, bool primUp)
    {
        var counts = new Dictionary<string, int>();
        var open = new List<Wire.RouteDecision>(concurrent);
        for (var b = 0; b < batches; b++)
        {
            for (var i = 0; i < concurrent; i++)
            {
                var decision = node.Route("chat");
                counts[decision.EndpointId] = counts.GetValueOrDefault(decision.EndpointId) + 1;
                open.Add(decision);
            }

            foreach (var decision in open)
            {
                Report(node, decision, primUp || decision.EndpointId != "prim");
            }

            open.Clear();
        }

        await node.Node.FlushOutcomesAsync();
        return counts;
    }

    private static double Share(Dictionary<string, int> counts) =>
        counts.GetValueOrDefault("prim") / (double)counts.Values.Sum();

    private static void Report(ServiceNode node, Wire.RouteDecision decision, bool success) =>
        node.Node.Report(new Wire.Outcome
        {
            DecisionId = decision.DecisionId,
            EndpointId = decision.EndpointId,
            WorkloadClass = "chat",
            Status = success ? Wire.OutcomeStatus.Success : Wire.OutcomeStatus.ServerError,
            HttpStatus = success ? 200 : 503,
            LatencyMs = decision.EndpointId == "prim" ? 200 : 300,
        });

    public void Dispose() => _storage.Dispose();
}
