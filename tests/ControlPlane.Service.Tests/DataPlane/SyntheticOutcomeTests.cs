using ControlPlane.Domain.Endpoints;
using ControlPlane.Service.DataPlane;
using ControlPlane.Service.Grains;
using ControlPlane.Service.Tests.Support;
using Microsoft.Extensions.Time.Testing;
using Wire = ControlPlane.Contracts.V1;

namespace ControlPlane.Service.Tests.DataPlane;

/// <summary>Synthetic outcomes (a prober's graded calls): they reach the endpoint grain only (health, quality breaker,
/// model change, recovery gate), never a class's SLO; the recovery gate holds a tripped endpoint out after its cooldown
/// until its golden set passes.</summary>
public sealed class SyntheticOutcomeTests : IDisposable
{
    private const string Endpoints = """
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
            baseline: { quality_pass_rate: 0.95 }
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
            slo: { availability: 0.99, quality: 0.9 }
        """;

    private const string Gated = "evals:\n  recovery_gate: { golden_set: true, min_probes: 3, pass_rate: 0.8 }\n" + Endpoints;

    private readonly FakeTimeProvider _time = new();
    private readonly TestStorage _storage = new();

    private static void Configure(ControlPlaneOptions o)
    {
        o.EvaluationPeriod = TimeSpan.FromSeconds(1);
        o.Health.Breaker.MinQualitySamples = 10;
    }

    [Fact]
    public async Task The_gate_holds_a_tripped_endpoint_out_after_its_cooldown_until_its_golden_set_passes()
    {
        await using var node = await ServiceNode.StartAsync(_time, _storage, ServiceNode.Fleet(Gated), Configure);
        var grain = node.Grains.GetGrain<IProviderEndpointGrain>("prim");
        node.Fail("prim", "chat", 5);
        await node.Node.FlushOutcomesAsync();
        Assert.Equal(BreakerState.Open, (await grain.GetDetailsAsync()).View.State);

        // Cooldown over (60 s) and long after: no half-open, no probe, still the fallback.
        _time.Advance(TimeSpan.FromMinutes(5));
        await EvaluatedAsync(node);
        Assert.Equal(BreakerState.Open, (await grain.GetDetailsAsync()).View.State);
        await node.Node.AskForProbesAsync();
        Assert.Equal("back", node.Route("chat").EndpointId);

        // Failing golden answers (drift, errors) keep it out.
        Synthetic(node, "prim", Wire.QualityVerdict.Fail, count: 4);
        Synthetic(node, "prim", Wire.QualityVerdict.Unspecified, count: 2, status: Wire.OutcomeStatus.ServerError);
        await node.Node.FlushOutcomesAsync();
        await EvaluatedAsync(node);
        Assert.Equal(BreakerState.Open, (await grain.GetDetailsAsync()).View.State);
        Assert.Equal("open", TableState(node));

        // Three passes in a row: half-open, persisted and pushed to the node.
        Synthetic(node, "prim", Wire.QualityVerdict.Pass, count: 3);
        await node.Node.FlushOutcomesAsync();
        var details = await grain.GetDetailsAsync();
        Assert.Equal(BreakerState.HalfOpen, details.View.State);
        Assert.Contains(details.RecentEvents, e => e.Detail.Contains("golden set passed", StringComparison.Ordinal));
        Assert.Equal("half_open", await Eventually.WaitAsync(() => Task.FromResult(TableState(node)), s => s == "half_open", 500));
    }

    [Fact]
    public async Task Without_a_gate_the_cooldown_alone_lets_the_endpoint_probe()
    {
        await using var node = await ServiceNode.StartAsync(_time, _storage, ServiceNode.Fleet(Endpoints), Configure);
        var grain = node.Grains.GetGrain<IProviderEndpointGrain>("prim");
        node.Fail("prim", "chat", 5);
        await node.Node.FlushOutcomesAsync();
        _time.Advance(TimeSpan.FromSeconds(61));
        Assert.Equal(BreakerState.HalfOpen, (await grain.GetDetailsAsync()).View.State);
    }

    [Fact]
    public async Task Gate_progress_survives_a_restart()
    {
        await using (var first = await ServiceNode.StartAsync(_time, _storage, ServiceNode.Fleet(Gated), Configure))
        {
            first.Fail("prim", "chat", 5);
            await first.Node.FlushOutcomesAsync();
            _time.Advance(TimeSpan.FromSeconds(61));
            Synthetic(first, "prim", Wire.QualityVerdict.Pass, count: 2);
            await first.Node.FlushOutcomesAsync();
            _time.Advance(TimeSpan.FromSeconds(1));
            await EvaluatedAsync(first);
        }

        await using var second = await ServiceNode.StartAsync(_time, _storage, ServiceNode.Fleet(Gated), Configure);
        var grain = second.Grains.GetGrain<IProviderEndpointGrain>("prim");
        Assert.Equal(BreakerState.Open, (await grain.GetDetailsAsync()).View.State);
        Synthetic(second, "prim", Wire.QualityVerdict.Pass, count: 1);
        await second.Node.FlushOutcomesAsync();
        Assert.Equal(BreakerState.HalfOpen, (await grain.GetDetailsAsync()).View.State);
    }

    [Fact]
    public async Task Synthetic_quality_failures_trip_the_quality_breaker_and_never_touch_the_class_slo()
    {
        await using var node = await ServiceNode.StartAsync(_time, _storage, ServiceNode.Fleet(Gated), Configure);
        var grain = node.Grains.GetGrain<IProviderEndpointGrain>("prim");
        var cls = node.Grains.GetGrain<IWorkloadClassGrain>("chat");
        var before = await cls.GetDetailsAsync();

        Synthetic(node, "prim", Wire.QualityVerdict.Fail, count: 12);
        await node.Node.FlushOutcomesAsync();
        _time.Advance(TimeSpan.FromSeconds(1));
        await EvaluatedAsync(node);

        var details = await grain.GetDetailsAsync();
        Assert.Equal((BreakerState.Open, BreakerReason.Quality), (details.View.State, details.View.Reason));
        var after = await cls.GetDetailsAsync();
        Assert.Equal((before.Availability.Events, before.Availability.BadEvents), (after.Availability.Events, after.Availability.BadEvents));
        Assert.Equal((before.Quality.Events, before.Quality.BadEvents), (after.Quality.Events, after.Quality.BadEvents));
        Assert.Equal(0, after.Quality.Events);
    }

    [Fact]
    public async Task A_synthetic_outcome_reporting_another_model_version_raises_a_model_change()
    {
        await using var node = await ServiceNode.StartAsync(_time, _storage, ServiceNode.Fleet(Gated), Configure);
        node.Node.Report(new Wire.Outcome
        {
            EndpointId = "prim",
            Synthetic = true,
            Status = Wire.OutcomeStatus.Success,
            LatencyMs = 200,
            ReturnedModelVersion = "gpt-2",
            Quality = new Wire.Quality { Verdict = Wire.QualityVerdict.Pass },
        });
        await node.Node.FlushOutcomesAsync();
        var change = (await node.Grains.GetGrain<IProviderEndpointGrain>("prim").GetDetailsAsync()).ModelChange;
        Assert.NotNull(change);
        Assert.Equal(("gpt-1", "gpt-2"), (change.Pinned, change.Observed));
    }

    [Fact]
    public async Task A_resent_synthetic_outcome_counts_once()
    {
        await using var node = await ServiceNode.StartAsync(_time, _storage, ServiceNode.Fleet(Gated), Configure);
        for (var i = 0; i < 2; i++)
        {
            node.Node.Report(new Wire.Outcome
            {
                EndpointId = "prim", Synthetic = true, RequestId = "probe-1", Status = Wire.OutcomeStatus.Success, LatencyMs = 100,
                Quality = new Wire.Quality { Verdict = Wire.QualityVerdict.Fail },
            });
        }

        await node.Node.FlushOutcomesAsync();
        Assert.Equal(1, (await node.Grains.GetGrain<IProviderEndpointGrain>("prim").GetDetailsAsync()).Health.Requests);
    }

    [Theory]
    [InlineData("workload_class")]
    [InlineData("decision_id")]
    [InlineData("workflow_verdict")]
    [InlineData("status")]
    public async Task A_synthetic_outcome_naming_a_class_or_decision_is_refused_and_changes_nothing(string field)
    {
        await using var node = await ServiceNode.StartAsync(_time, _storage, ServiceNode.Fleet(Gated), Configure);
        var outcome = new Wire.Outcome { EndpointId = "prim", Synthetic = true, Status = Wire.OutcomeStatus.ServerError, LatencyMs = 10 };
        switch (field)
        {
            case "workload_class": outcome.WorkloadClass = "chat"; break;
            case "decision_id": outcome.DecisionId = "x"; break;
            case "workflow_verdict": outcome.WorkflowVerdict = Wire.WorkflowVerdict.Failed; break;
            default: outcome.Status = Wire.OutcomeStatus.Unspecified; break;
        }

        var error = Assert.Throws<RoutingRequestException>(() => node.Node.Report(outcome));
        Assert.Equal(field, error.Field);
        Assert.Equal(0, node.Node.QueuedOutcomes);
    }

    public void Dispose() => _storage.Dispose();

    private static void Synthetic(ServiceNode node, string endpoint, Wire.QualityVerdict verdict, int count,
        Wire.OutcomeStatus status = Wire.OutcomeStatus.Success)
    {
        for (var i = 0; i < count; i++)
        {
            node.Node.Report(new Wire.Outcome
            {
                EndpointId = endpoint,
                Synthetic = true,
                Status = status,
                LatencyMs = 250,
                InputTokens = 20,
                OutputTokens = 8,
                Quality = verdict == Wire.QualityVerdict.Unspecified ? null : new Wire.Quality { Verdict = verdict },
            });
        }
    }

    // The grains evaluate on their 1 s timer (fake clock); a details call lets the turn run.
    private async Task EvaluatedAsync(ServiceNode node)
    {
        for (var i = 0; i < 3; i++)
        {
            _time.Advance(TimeSpan.FromMilliseconds(400));
            await node.Grains.GetGrain<IProviderEndpointGrain>("prim").GetDetailsAsync();
            await Task.Delay(50);
        }
    }

    private static string TableState(ServiceNode node) =>
        node.Node.BuildTable([]).Endpoints.Single(e => e.EndpointId == "prim").BreakerState;
}
