using ControlPlane.Domain.Breakers;
using ControlPlane.Domain.Endpoints;
using ControlPlane.Domain.Health;

namespace ControlPlane.Domain.Tests.Scenarios;

public sealed class EndpointHealthScenarioTests
{
    private static OutcomeSample Outage(DateTimeOffset at) => new() { At = at, Status = OutcomeStatus.ServerError, Latency = TimeSpan.FromMilliseconds(30) };

    [Fact]
    public void A_hard_outage_opens_the_breaker_within_5_failures()
    {
        var s = new OutcomeStream();
        s.WarmUp();

        var failures = 0;
        var opened = s.Run(TimeSpan.FromMinutes(1), 10, t => { failures++; return Outage(t); }, v => v.State == BreakerState.Open);

        Assert.True(opened);
        Assert.Equal(5, failures);
        Assert.Equal(BreakerReason.ConsecutiveFailures, s.View.Reason);
        var trip = Assert.Single(s.Events);
        Assert.Equal((null, BreakerState.Closed, BreakerState.Open), (trip.WorkloadClass, trip.Event.From, trip.Event.To));
    }

    [Fact]
    public void Recovery_goes_through_half_open_then_ramps_traffic_back_gradually()
    {
        var s = new OutcomeStream();
        s.WarmUp();
        s.Run(TimeSpan.FromMinutes(1), 10, Outage, v => v.State == BreakerState.Open);

        // Open: the data plane sends nothing until the cooldown ends, to the millisecond.
        s.Advance(TimeSpan.FromSeconds(60) - TimeSpan.FromMilliseconds(100) - TimeSpan.FromMilliseconds(1));
        Assert.Equal(BreakerState.Open, s.View.State);
        Assert.False(s.Health.TryAcquireProbe());
        s.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(BreakerState.HalfOpen, s.View.State);

        // The provider is back: three probes succeed.
        for (var i = 0; i < 3; i++)
        {
            Assert.True(s.Health.TryAcquireProbe());
            s.Health.Record(s.Healthy(s.Now));
            s.Advance(TimeSpan.FromMilliseconds(500));
        }

        Assert.False(s.Health.TryAcquireProbe());
        Assert.Equal(BreakerState.Closed, s.View.State);

        // Ramp: under 1 % errors for 10 minutes at the start share, then the admitted share of 10 rps climbs at each
        // evaluation; the outage still in the window does not re-trip it.
        var fractions = new List<double>();
        while (s.View.TrafficFraction < 1)
        {
            var fraction = s.View.TrafficFraction;
            fractions.Add(fraction);
            s.Run(TimeSpan.FromSeconds(1), Math.Max(1, 10 * fraction), t => s.Healthy(t));
        }

        Assert.InRange(fractions[0], 0.1, 0.11);
        var closedAt = s.Events[^1].Event.At;
        Assert.InRange(s.Now - closedAt, TimeSpan.FromMinutes(12), TimeSpan.FromMinutes(12) + OutcomeStream.EvaluationPeriod);
        Assert.All(fractions.Take(590), f => Assert.Equal(0.1, f, 12));
        var climb = fractions.Where(f => f > 0.1).Distinct().ToList();
        Assert.True(climb.Count >= 11, $"ramp climbed in {climb.Count} steps");
        Assert.All(fractions.Zip(fractions.Skip(1)), p => Assert.True(p.Second >= p.First, $"{p.Second} after {p.First}"));
        s.Run(TimeSpan.FromMinutes(3), 10, t => s.Healthy(t));
        Assert.Equal(EndpointHealthView.Healthy, s.View);
        Assert.Equal(
            [(BreakerState.Closed, BreakerState.Open), (BreakerState.Open, BreakerState.HalfOpen), (BreakerState.HalfOpen, BreakerState.Closed)],
            s.Events.Select(e => (e.Event.From, e.Event.To)));
    }

    [Fact]
    public void A_ramp_with_errors_between_1_and_5_percent_holds_its_share_until_they_stop()
    {
        var s = new OutcomeStream();
        s.WarmUp();
        s.Run(TimeSpan.FromMinutes(1), 10, Outage, v => v.State == BreakerState.Open);
        s.Advance(TimeSpan.FromSeconds(60));
        for (var i = 0; i < 3; i++)
        {
            Assert.True(s.Health.TryAcquireProbe());
            s.Health.Record(s.Healthy(s.Now));
        }

        Assert.Equal(BreakerState.Closed, s.View.State);

        // 2 % errors (under the 5 % trip threshold): for 20 minutes the share stays at the start fraction.
        var n = 0;
        s.Run(TimeSpan.FromMinutes(20), 10, t => ++n % 50 == 0 ? Outage(t) : s.Healthy(t));
        Assert.Equal((BreakerState.Closed, 0.1), (s.View.State, Math.Round(s.View.TrafficFraction, 12)));

        // Clean again: once the errors leave the window, 10 healthy minutes then the climb.
        var cleanFrom = s.Now;
        s.Run(TimeSpan.FromMinutes(30), 10, t => s.Healthy(t), v => v.TrafficFraction >= 1);
        Assert.Equal(1.0, s.View.TrafficFraction);
        Assert.InRange(s.Now - cleanFrom, TimeSpan.FromMinutes(12), TimeSpan.FromMinutes(12) + TimeSpan.FromMinutes(5) + OutcomeStream.EvaluationPeriod);
        Assert.Equal(BreakerState.Closed, s.View.State);
    }

    [Fact]
    public void A_latency_spike_to_4x_marks_degraded_and_a_spike_to_6x_opens_for_latency()
    {
        var s = new OutcomeStream();
        s.WarmUp(latencyMs: 400);

        s.Run(TimeSpan.FromMinutes(5), 10, t => s.Healthy(t, latencyMs: 1600));
        var view = s.View;
        Assert.True(view.Degraded);
        Assert.Equal((BreakerState.Closed, 1.0), (view.State, view.TrafficFraction));
        var degraded = Assert.Single(s.Events);
        Assert.Equal(BreakerEventKind.Degraded, degraded.Event.Kind);

        var opened = s.Run(TimeSpan.FromMinutes(5), 10, t => s.Healthy(t, latencyMs: 2400), v => v.State == BreakerState.Open);
        Assert.True(opened);
        Assert.Equal(BreakerReason.Latency, s.View.Reason);
        Assert.Equal(0, s.Health.Endpoint.Window.Snapshot(s.Now).Failures);
    }

    [Fact]
    public void With_the_open_factor_at_3_5x_a_4x_spike_marks_degraded_then_opens()
    {
        var options = new EndpointHealthOptions();
        options.Breaker.OpenLatencyFactor = 3.5;
        var s = new OutcomeStream(options);
        s.WarmUp(latencyMs: 400);

        var opened = s.Run(TimeSpan.FromMinutes(5), 10, t => s.Healthy(t, latencyMs: 1600), v => v.State == BreakerState.Open);
        Assert.True(opened);
        Assert.Equal(BreakerReason.Latency, s.View.Reason);
        Assert.Equal([BreakerEventKind.Degraded, BreakerEventKind.StateChanged], s.Events.Select(e => e.Event.Kind));
        Assert.True(s.Events[0].Event.At <= s.Events[1].Event.At);
    }

    [Fact]
    public void A_quality_drift_of_20_percent_opens_for_quality_with_no_errors()
    {
        var s = new OutcomeStream();
        s.WarmUp(passRate: 0.9);

        var opened = s.Run(TimeSpan.FromMinutes(15), 10, t => s.Healthy(t, passRate: 0.72), v => v.State == BreakerState.Open);

        Assert.True(opened);
        Assert.Equal(BreakerReason.Quality, s.View.Reason);
        var window = s.Health.Endpoint.Window.Snapshot(s.Now);
        Assert.Equal(0, window.ErrorRate);
        Assert.Contains("pass rate", Assert.Single(s.Events).Event.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void A_429_storm_cools_the_endpoint_for_retry_after_and_does_not_open_it()
    {
        var s = new OutcomeStream();
        s.WarmUp();

        var retryAfter = TimeSpan.FromSeconds(20);
        DateTimeOffset last429 = default;
        s.Run(TimeSpan.FromMinutes(1), 20, t =>
        {
            if (s.NextDouble() < 0.5)
            {
                return s.Healthy(t);
            }

            last429 = t;
            return new OutcomeSample { At = t, Status = OutcomeStatus.RateLimited, RetryAfter = retryAfter };
        });

        var view = s.View;
        Assert.Equal((BreakerState.Closed, BreakerReason.None, 1.0), (view.State, view.Reason, view.TrafficFraction));
        Assert.Equal(last429 + retryAfter, view.RateLimitedUntil);
        Assert.All(s.Events, e => Assert.Equal(BreakerEventKind.RateLimited, e.Event.Kind));
        Assert.Single(s.Events);

        // No traffic while cooling; it ends exactly at Retry-After.
        s.Advance(last429 + retryAfter - s.Now - TimeSpan.FromMilliseconds(1));
        Assert.NotNull(s.View.RateLimitedUntil);
        s.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(EndpointHealthView.Healthy, s.View);
        var window = s.Health.Endpoint.Window.Snapshot(s.Now);
        Assert.Equal(0, window.Failures);
        Assert.InRange(window.RateLimited, 500, 700);
    }

    [Fact]
    public void A_drift_in_one_workload_class_opens_only_that_class()
    {
        var s = new OutcomeStream();
        s.Run(TimeSpan.FromMinutes(31), 10, t => s.Healthy(t, passRate: 0.9), workloadClass: s.NextDouble() < 0.5 ? "chat" : "extract");
        // Interleave the classes: chat stays good, extract drifts.
        s.Events.Clear();
        var extractOpen = false;
        for (var i = 0; i < 15 * 60 && !extractOpen; i++)
        {
            s.Run(TimeSpan.FromSeconds(0.5), 10, t => s.Healthy(t, passRate: 0.9), workloadClass: "chat");
            s.Run(TimeSpan.FromSeconds(0.5), 10, t => s.Healthy(t, passRate: 0.6), workloadClass: "extract");
            extractOpen = s.Health.Current("extract").State == BreakerState.Open;
        }

        Assert.True(extractOpen);
        Assert.Equal(BreakerReason.Quality, s.Health.Current("extract").Reason);
        Assert.Equal(BreakerState.Closed, s.Health.Current("chat").State);
        Assert.Equal(BreakerState.Closed, s.Health.Current().State);
        Assert.All(s.Events, e => Assert.Equal("extract", e.WorkloadClass));
    }

    [Fact]
    public void An_endpoint_override_wins_for_every_class()
    {
        var s = new OutcomeStream();
        s.Run(TimeSpan.FromSeconds(10), 10, t => s.Healthy(t), workloadClass: "chat");
        s.Health.SetOverride(new AdminOverride(OverrideKind.ForceOpen, "alice", "incident", s.Now, null));
        Assert.Equal((BreakerState.Open, BreakerReason.Forced), (s.Health.Current("chat").State, s.Health.Current("chat").Reason));
        Assert.True(s.Health.ClearOverride("alice"));
        Assert.Equal(EndpointHealthView.Healthy, s.Health.Current("chat"));
    }
}
