using ControlPlane.Domain.Breakers;
using ControlPlane.Domain.Endpoints;
using ControlPlane.Domain.Health;
using ControlPlane.Domain.Tests.Health;

namespace ControlPlane.Domain.Tests.Breakers;

public sealed class RecoveryGateTests
{
    private static readonly TimeSpan Cooldown = TimeSpan.FromSeconds(60);

    private static EndpointBreaker TrippedAt(DateTimeOffset at, RecoveryGateOptions? gate)
    {
        var breaker = new EndpointBreaker(new BreakerOptions { Cooldown = Cooldown, ConsecutiveFailures = 3, HalfOpenProbes = 1 });
        breaker.ConfigureRecoveryGate(gate);
        for (var i = 0; i < 3; i++)
        {
            breaker.OnOutcome(Samples.Fail(at));
        }

        Assert.Equal(BreakerState.Open, breaker.Current(at).State);
        breaker.DrainEvents();
        return breaker;
    }

    private static OutcomeSample Pass(DateTimeOffset at) => Samples.Ok(at, quality: QualityVerdict.Pass);

    private static OutcomeSample Drift(DateTimeOffset at) => Samples.Ok(at, quality: QualityVerdict.Fail);

    [Fact]
    public void Without_a_gate_the_cooldown_alone_turns_the_breaker_half_open()
    {
        var breaker = TrippedAt(Samples.T0, gate: null);
        Assert.Equal(BreakerState.HalfOpen, breaker.Current(Samples.T0 + Cooldown).State);
    }

    [Fact]
    public void The_gate_holds_the_breaker_open_after_the_cooldown_until_the_golden_set_passes()
    {
        var breaker = TrippedAt(Samples.T0, new RecoveryGateOptions { MinProbes = 3 });
        var after = Samples.T0 + Cooldown;
        Assert.Equal(BreakerState.Open, breaker.Current(after + TimeSpan.FromMinutes(5)).State);
        Assert.True(breaker.GateProgress.Holding);
        Assert.False(breaker.TryAcquireProbe(after + TimeSpan.FromMinutes(5)));

        var t = after + TimeSpan.FromMinutes(5);
        breaker.OnSyntheticOutcome(Pass(t));
        breaker.OnSyntheticOutcome(Pass(t.AddSeconds(1)));
        Assert.Equal(BreakerState.Open, breaker.Current(t.AddSeconds(1)).State);
        breaker.OnSyntheticOutcome(Pass(t.AddSeconds(2)));

        Assert.Equal(BreakerState.HalfOpen, breaker.Current(t.AddSeconds(2)).State);
        var change = Assert.Single(breaker.DrainEvents());
        Assert.Equal(t.AddSeconds(2), change.At);
        Assert.Contains("golden set passed", change.Detail, StringComparison.Ordinal);
        Assert.True(breaker.TryAcquireProbe(t.AddSeconds(2)));
    }

    [Fact]
    public void Failing_probes_keep_the_endpoint_out_however_long_it_waits()
    {
        var breaker = TrippedAt(Samples.T0, new RecoveryGateOptions { MinProbes = 3, PassRate = 0.8, ReleaseWithoutProbesAfter = TimeSpan.FromMinutes(1) });
        var t = Samples.T0 + Cooldown;
        for (var i = 0; i < 20; i++)
        {
            breaker.OnSyntheticOutcome(i % 2 == 0 ? Drift(t.AddSeconds(i)) : Pass(t.AddSeconds(i)));
        }

        breaker.OnSyntheticOutcome(Samples.Fail(t.AddSeconds(21)));
        Assert.Equal(BreakerState.Open, breaker.Current(t + TimeSpan.FromHours(1)).State);
        Assert.Equal(new RecoveryGateProgress(21, 10, 0, Passed: false, Holding: true), breaker.GateProgress);
    }

    [Fact]
    public void Synthetic_outcomes_before_the_cooldown_ended_do_not_count()
    {
        var breaker = TrippedAt(Samples.T0, new RecoveryGateOptions { MinProbes = 2 });
        breaker.OnSyntheticOutcome(Pass(Samples.T0.AddSeconds(10)));
        breaker.OnSyntheticOutcome(Pass(Samples.T0.AddSeconds(20)));
        Assert.Equal(BreakerState.Open, breaker.Current(Samples.T0 + Cooldown).State);
        Assert.Equal(0, breaker.GateProgress.Probes);
    }

    [Fact]
    public void A_pass_rate_over_the_minimum_opens_the_gate_despite_a_failure()
    {
        var breaker = TrippedAt(Samples.T0, new RecoveryGateOptions { MinProbes = 5, PassRate = 0.8 });
        var t = Samples.T0 + Cooldown;
        breaker.OnSyntheticOutcome(Pass(t));
        breaker.OnSyntheticOutcome(Drift(t.AddSeconds(1)));
        breaker.OnSyntheticOutcome(Pass(t.AddSeconds(2)));
        breaker.OnSyntheticOutcome(Pass(t.AddSeconds(3)));
        Assert.Equal(BreakerState.Open, breaker.Current(t.AddSeconds(3)).State);
        breaker.OnSyntheticOutcome(Pass(t.AddSeconds(4)));
        Assert.Equal(BreakerState.HalfOpen, breaker.Current(t.AddSeconds(4)).State);
    }

    [Fact]
    public void Without_any_synthetic_outcome_the_gate_releases_after_its_timeout()
    {
        var breaker = TrippedAt(Samples.T0, new RecoveryGateOptions { ReleaseWithoutProbesAfter = TimeSpan.FromMinutes(2) });
        var end = Samples.T0 + Cooldown;
        Assert.Equal(BreakerState.Open, breaker.Current(end + TimeSpan.FromSeconds(119)).State);
        Assert.Equal(BreakerState.HalfOpen, breaker.Current(end + TimeSpan.FromSeconds(120)).State);
    }

    [Fact]
    public void Gate_progress_survives_export_and_restore_and_resets_on_the_next_trip()
    {
        var options = new BreakerOptions { Cooldown = Cooldown, ConsecutiveFailures = 3, HalfOpenProbes = 1 };
        var gate = new RecoveryGateOptions { MinProbes = 3 };
        var breaker = TrippedAt(Samples.T0, gate);
        var t = Samples.T0 + Cooldown;
        breaker.OnSyntheticOutcome(Pass(t));
        breaker.OnSyntheticOutcome(Pass(t.AddSeconds(1)));

        var restored = EndpointBreaker.Restore(options, breaker.Export());
        restored.ConfigureRecoveryGate(gate);
        Assert.Equal(2, restored.GateProgress.Consecutive);
        restored.OnSyntheticOutcome(Pass(t.AddSeconds(2)));
        Assert.Equal(BreakerState.HalfOpen, restored.Current(t.AddSeconds(2)).State);

        // A failed half-open probe trips it again: the gate starts over.
        Assert.True(restored.TryAcquireProbe(t.AddSeconds(3)));
        restored.OnOutcome(Samples.Fail(t.AddSeconds(3)));
        Assert.Equal(BreakerState.Open, restored.Current(t.AddSeconds(3)).State);
        Assert.Equal(default, restored.GateProgress with { Holding = false });
    }

    [Fact]
    public void A_half_open_breaker_is_closed_by_real_probes_not_by_synthetic_passes_but_a_synthetic_failure_reopens_it()
    {
        var breaker = TrippedAt(Samples.T0, new RecoveryGateOptions { MinProbes = 1 });
        var t = Samples.T0 + Cooldown;
        breaker.OnSyntheticOutcome(Pass(t));
        Assert.Equal(BreakerState.HalfOpen, breaker.Current(t).State);
        breaker.OnSyntheticOutcome(Pass(t.AddSeconds(1)));
        breaker.OnSyntheticOutcome(Pass(t.AddSeconds(2)));
        Assert.Equal(BreakerState.HalfOpen, breaker.Current(t.AddSeconds(2)).State);

        Assert.True(breaker.TryAcquireProbe(t.AddSeconds(3)));
        breaker.OnOutcome(Samples.Ok(t.AddSeconds(3)));
        Assert.Equal(BreakerState.Closed, breaker.Current(t.AddSeconds(3)).State);

        var again = TrippedAt(Samples.T0, new RecoveryGateOptions { MinProbes = 1 });
        again.OnSyntheticOutcome(Pass(t));
        again.OnSyntheticOutcome(Samples.Fail(t.AddSeconds(1)));
        Assert.Equal(BreakerState.Open, again.Current(t.AddSeconds(1)).State);
    }

    [Fact]
    public void Synthetic_outcomes_of_a_closed_breaker_count_like_any_outcome()
    {
        var breaker = new EndpointBreaker(new BreakerOptions { ConsecutiveFailures = 3 });
        breaker.ConfigureRecoveryGate(new RecoveryGateOptions());
        for (var i = 0; i < 3; i++)
        {
            breaker.OnSyntheticOutcome(Samples.Fail(Samples.T0.AddSeconds(i)));
        }

        Assert.Equal(BreakerState.Open, breaker.Current(Samples.T0.AddSeconds(3)).State);
    }

    [Fact]
    public void Health_records_synthetic_outcomes_endpoint_wide_only()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(Samples.T0);
        var health = new EndpointHealth("e1", new EndpointHealthOptions(), time);
        health.Record(Samples.Ok(Samples.T0, quality: QualityVerdict.Pass), "chat");
        health.RecordSynthetic(Drift(Samples.T0));
        Assert.Equal(2, health.Endpoint.Window.Snapshot(Samples.T0).QualityVerdicts);
        Assert.Equal(1, health.Class("chat")!.Window.Snapshot(Samples.T0).QualityVerdicts);
        Assert.Single(health.WorkloadClasses);
    }

    [Theory]
    [InlineData(0, 0.8)]
    [InlineData(1001, 0.8)]
    [InlineData(5, 0)]
    [InlineData(5, 1.1)]
    [InlineData(5, double.NaN)]
    public void Invalid_gate_options_are_refused(int minProbes, double passRate) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new RecoveryGateOptions { MinProbes = minProbes, PassRate = passRate }.Validate());
}
