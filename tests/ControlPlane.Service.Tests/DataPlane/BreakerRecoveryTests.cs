using ControlPlane.Domain.Endpoints;
using ControlPlane.Service.Grains;
using ControlPlane.Service.Tests.Support;
using Microsoft.Extensions.Time.Testing;
using Wire = ControlPlane.Contracts.V1;

namespace ControlPlane.Service.Tests.DataPlane;

/// <summary>An outage, its end, and the way back: the endpoint grain hands out a bounded number of half-open probes, the
/// probes close the breaker, and the primary's share ramps back (held at the start share while it proves healthy).</summary>
public sealed class BreakerRecoveryTests : IDisposable
{
    internal const string Fleet = """
        endpoints:
          - id: prim
            provider: openai
            model: gpt
            model_version: gpt-1
            region: us-east
            context_window: 32000
            price_per_1k: { input: 0, output: 0 }
            owner_team: t
            on_call: t
          - id: back
            provider: anthropic
            model: claude
            model_version: claude-1
            region: us-east
            context_window: 32000
            price_per_1k: { input: 0, output: 0 }
            owner_team: t
            on_call: t
        classes:
          - name: chat
            owner: t
            mode: auto_fallback
            primary: [prim]
            fallbacks: [back]
            slo: { availability: 0.99 }
        """;

    private readonly FakeTimeProvider _time = new();
    private readonly TestStorage _storage = new();

    // The seeds' breaker (5 failures, 60 s cooldown doubling, 3 probes); the ramp is shortened so the test runs in seconds.
    internal static void Configure(ControlPlaneOptions o)
    {
        o.EvaluationPeriod = TimeSpan.FromSeconds(1);
        o.Health.Breaker.RampObservation = TimeSpan.FromSeconds(20);
        o.Health.Breaker.RampDuration = TimeSpan.FromSeconds(40);
    }

    [Fact]
    public async Task A_tripped_primary_comes_back_through_bounded_probes_then_a_gradual_ramp()
    {
        await using var node = await ServiceNode.StartAsync(_time, _storage, ServiceNode.Fleet(Fleet), Configure);
        var grain = node.Grains.GetGrain<IProviderEndpointGrain>("prim");

        // The outage: 5 failures open the primary; traffic goes to the fallback.
        Assert.Equal("prim", node.Route("chat").EndpointId);
        node.Fail("prim", "chat", 5);
        await node.Node.FlushOutcomesAsync();
        var outage = Route(node, 20, providerUp: false);
        Assert.Equal(20, outage[("back", "primary_breaker_open")]);
        Assert.Equal(60, (await grain.GetDetailsAsync()).OpenUntil!.Value.Subtract(_time.GetUtcNow()).TotalSeconds, 0);

        // Still down when the cooldown ends: the one probe fails and re-opens it with the doubled cooldown.
        _time.Advance(TimeSpan.FromSeconds(60));
        var firstHalfOpen = await RouteUntilAsync(node, providerUp: false, s => s.Breaker == BreakerState.Open);
        Assert.Equal(1, firstHalfOpen.Probes);
        var reopened = await grain.GetDetailsAsync();
        Assert.Equal((BreakerState.Open, BreakerReason.ProbeFailed, 2), (reopened.View.State, reopened.View.Reason, reopened.Trips));
        Assert.InRange(reopened.OpenUntil!.Value - _time.GetUtcNow(), TimeSpan.FromMinutes(2) - TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(2));

        // The provider recovers: after the doubled cooldown, three probes (never more) close the breaker.
        _time.Advance(TimeSpan.FromMinutes(2));
        var secondHalfOpen = await RouteUntilAsync(node, providerUp: true, s => s.Breaker == BreakerState.Closed);
        Assert.Equal(3, secondHalfOpen.Probes);
        Assert.True(secondHalfOpen.MaxProbesPerStep <= 1, "one permit per ask");
        Assert.True(node.Node.ProbesGranted <= 4, $"{node.Node.ProbesGranted} permits granted over two half-open periods");

        // The ramp: the primary's share holds near the start fraction, then rises to all of the traffic.
        var shares = new List<double>();
        for (var second = 0; second < 90; second++)
        {
            _time.Advance(TimeSpan.FromSeconds(1));
            await grain.GetDetailsAsync();
            var counts = Route(node, 200, providerUp: true);
            Assert.DoesNotContain(counts.Keys, k => k.Reason is "half_open_probe" or "primary_breaker_open");
            shares.Add(counts.Where(c => c.Key.Endpoint == "prim").Sum(c => c.Value) / 200.0);
            await node.Node.FlushOutcomesAsync();
        }

        Assert.InRange(shares.Take(15).Average(), 0.05, 0.16);
        Assert.InRange(shares.Skip(35).Take(10).Average(), 0.3, 0.8);
        Assert.All(shares.Skip(70), s => Assert.Equal(1.0, s));
        var view = (await grain.GetDetailsAsync()).View;
        Assert.Equal((BreakerState.Closed, 1.0), (view.State, view.TrafficFraction));
    }

    [Fact]
    public async Task A_recovered_primary_takes_its_traffic_back_from_the_other_primary()
    {
        // Drill finding: prim and peer are both primaries; prim (faster) had the class. After its outage the 503s stayed
        // in its 5-minute window, so its published error rate priced it out of power-of-two-choices against peer: it got
        // no traffic, so nothing ever diluted them, and peer kept the class after the breaker closed and the ramp ended.
        var fleet = Fleet.Replace("primary: [prim]", "primary: [prim, back]").Replace("fallbacks: [back]", "fallbacks: [spare]")
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
        await using var node = await ServiceNode.StartAsync(_time, _storage, ServiceNode.Fleet(fleet), Configure);
        var grain = node.Grains.GetGrain<IProviderEndpointGrain>("prim");
        var peer = node.Grains.GetGrain<IProviderEndpointGrain>("back");

        // Before: both answer, prim in 200 ms and back in 300 ms; once the figures are published prim takes the class.
        double before = 0;
        for (var second = 0; second < 3; second++)
        {
            var counts = Route(node, 20, providerUp: true, primLatencyMs: 200);
            before = counts.Where(c => c.Key.Endpoint == "prim").Sum(c => c.Value) / 20.0;
            await node.Node.FlushOutcomesAsync();
            _time.Advance(TimeSpan.FromSeconds(1));
            await grain.GetDetailsAsync();
            await peer.GetDetailsAsync();
        }

        Assert.Equal(1.0, before);

        // The outage: prim answers 503s (20 of them) and opens; back takes the class.
        node.Fail("prim", "chat", 20);
        await node.Node.FlushOutcomesAsync();
        Assert.Equal(20, Route(node, 20, providerUp: false)[("back", "primary")]);

        // Fixed after the cooldown: the probes close the breaker; then the ramp (20 s + 40 s) and a little more.
        _time.Advance(TimeSpan.FromSeconds(60));
        await RouteUntilAsync(node, providerUp: true, s => s.Breaker == BreakerState.Closed, primLatencyMs: 200);
        var shares = new List<double>();
        for (var second = 0; second < 80; second++)
        {
            _time.Advance(TimeSpan.FromSeconds(1));
            await grain.GetDetailsAsync();
            await peer.GetDetailsAsync();
            var counts = Route(node, 100, providerUp: true, primLatencyMs: 200);
            shares.Add(counts.Where(c => c.Key.Endpoint == "prim").Sum(c => c.Value) / 100.0);
            await node.Node.FlushOutcomesAsync();
        }

        var view = (await grain.GetDetailsAsync()).View;
        Assert.Equal((BreakerState.Closed, 1.0), (view.State, view.TrafficFraction));
        Assert.True(shares.Skip(70).Average() >= 0.9, $"prim's share after the ramp: {string.Join(" ", shares.Skip(60))}");
    }

    [Fact]
    public async Task Probe_slots_a_node_holds_go_when_the_breaker_leaves_half_open()
    {
        await using var node = await ServiceNode.StartAsync(_time, _storage, ServiceNode.Fleet(Fleet), Configure);
        node.Fail("prim", "chat", 5);
        await node.Node.FlushOutcomesAsync();
        _time.Advance(TimeSpan.FromSeconds(60));
        await WaitAsync(() => HalfOpen(node));

        // Demand, then a permit installed as a local slot.
        Assert.Equal("back", node.Route("chat").EndpointId);
        await node.Node.AskForProbesAsync();
        Assert.Equal(1, node.Node.Snapshot.ProbeSlotsAt(0));

        // An admin forces the endpoint closed: the push takes the slot away, so it can never probe a later half-open period.
        await node.Admin.SetBreakerAsync("prim", new("closed", "provider confirmed fixed", null), TestActors.Named("alice"));
        Assert.Equal(0, node.Node.Snapshot.ProbeSlotsAt(0));
        Assert.Equal("forced_override", node.Route("chat").RouteReason);
    }

    [Fact]
    public async Task A_restart_mid_ramp_resumes_its_progress_and_does_not_count_the_downtime_as_healthy()
    {
        await using (var first = await ServiceNode.StartAsync(_time, _storage, ServiceNode.Fleet(Fleet), Configure))
        {
            first.Fail("prim", "chat", 5);
            await first.Node.FlushOutcomesAsync();
            _time.Advance(TimeSpan.FromSeconds(60));
            await RouteUntilAsync(first, providerUp: true, s => s.Breaker == BreakerState.Closed);

            // 20 s at the start share, then 20 of the 40 s climb: 55 %.
            var grain = first.Grains.GetGrain<IProviderEndpointGrain>("prim");
            for (var s = 0; s < 40; s++)
            {
                _time.Advance(TimeSpan.FromSeconds(1));
                await grain.GetDetailsAsync();
            }

            Assert.InRange((await grain.GetDetailsAsync()).View.TrafficFraction, 0.5, 0.6);
        }

        // Down for ten minutes; the new activation carries on from what was persisted (within one step of 5 s).
        _time.Advance(TimeSpan.FromMinutes(10));
        await using var second = await ServiceNode.StartAsync(_time, _storage, ServiceNode.Fleet(Fleet), Configure);
        var restarted = second.Grains.GetGrain<IProviderEndpointGrain>("prim");
        var view = (await restarted.GetDetailsAsync()).View;
        Assert.Equal(BreakerState.Closed, view.State);
        Assert.InRange(view.TrafficFraction, 0.43, 0.6);
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.InRange((await restarted.GetDetailsAsync()).View.TrafficFraction, 0.43, 0.6);
    }

    private static bool HalfOpen(ServiceNode node) =>
        node.Node.BuildTable([]).Endpoints.Single(e => e.EndpointId == "prim").BreakerState == "half_open";

    private static Dictionary<(string Endpoint, string Reason), int> Route(ServiceNode node, int requests, bool providerUp, int primLatencyMs = 300)
    {
        var counts = new Dictionary<(string, string), int>();
        for (var i = 0; i < requests; i++)
        {
            var decision = node.Route("chat");
            var key = (decision.EndpointId, decision.RouteReason);
            counts[key] = counts.GetValueOrDefault(key) + 1;
            Report(node, decision, providerUp || decision.EndpointId != "prim", decision.EndpointId == "prim" ? primLatencyMs : 300);
        }

        return counts;
    }

    private static void Report(ServiceNode node, Wire.RouteDecision decision, bool success, int latencyMs = 300) =>
        node.Node.Report(new Wire.Outcome
        {
            DecisionId = decision.DecisionId,
            EndpointId = decision.EndpointId,
            WorkloadClass = "chat",
            Status = success ? Wire.OutcomeStatus.Success : Wire.OutcomeStatus.ServerError,
            HttpStatus = success ? 200 : 503,
            LatencyMs = latencyMs,
        });

    // Steps of 50 ms (the node's loop period): ask for permits, route a few requests, report their outcomes, flush;
    // until the grain's breaker satisfies done. Counts the probes routed in the half-open period.
    private async Task<(int Probes, int MaxProbesPerStep)> RouteUntilAsync(ServiceNode node, bool providerUp, Func<(BreakerState Breaker, int Step), bool> done,
        int primLatencyMs = 300)
    {
        var grain = node.Grains.GetGrain<IProviderEndpointGrain>("prim");
        var probes = 0;
        var maxPerStep = 0;
        var halfOpenSeen = false;
        for (var step = 0; step < 1200; step++)
        {
            await node.Node.AskForProbesAsync();
            var counts = Route(node, 5, providerUp, primLatencyMs);
            var stepProbes = counts.Where(c => c.Key.Reason == "half_open_probe").Sum(c => c.Value);
            Assert.All(counts.Where(c => c.Key.Reason == "half_open_probe"), c => Assert.Equal("prim", c.Key.Endpoint));
            probes += stepProbes;
            maxPerStep = Math.Max(maxPerStep, stepProbes);
            Assert.True(probes <= 3, $"{probes} probes in one half-open period");
            await node.Node.FlushOutcomesAsync();
            var state = (await grain.GetDetailsAsync()).AutomaticState;
            halfOpenSeen |= state == BreakerState.HalfOpen;
            if (halfOpenSeen && done((state, step)))
            {
                return (probes, maxPerStep);
            }

            _time.Advance(TimeSpan.FromMilliseconds(50));
        }

        var d = await grain.GetDetailsAsync();
        var seen = node.Node.BuildTable([]).Endpoints.Single(e => e.EndpointId == "prim").BreakerState;
        throw new TimeoutException($"the breaker did not get there; {probes} probes routed; grain {d.AutomaticState}, node sees {seen}; granted {node.Node.ProbesGranted}, slots {node.Node.Snapshot.ProbeSlotsAt(0)} {string.Join(" | ", d.RecentEvents.Select(e => e.Detail))} {string.Join(",", Route(node, 5, providerUp).Keys)}");
    }

    private static async Task WaitAsync(Func<bool> done)
    {
        for (var i = 0; i < 500 && !done(); i++)
        {
            await Task.Delay(10);
        }

        Assert.True(done());
    }

    public void Dispose() => _storage.Dispose();
}
