using ControlPlane.Domain.Baselines;
using ControlPlane.Domain.Breakers;
using ControlPlane.Domain.Endpoints;
using ControlPlane.Domain.Health;
using Microsoft.Extensions.Time.Testing;
using Xunit.Abstractions;
using static ControlPlane.Domain.Tests.Health.Samples;

namespace ControlPlane.Domain.Tests.Breakers;

/// <summary>A half-open probe is judged on its latency too (EndpointBreaker.ProbeLatency.cs), so a latency fault does
/// not close the breaker on its own slow probes and the endpoint is back within one cooldown and the ramp of the
/// fault's end.</summary>
public sealed class ProbeLatencyTests(ITestOutputHelper output)
{
    private static readonly BaselineValues Baseline = new()
    {
        LatencyP95 = TimeSpan.FromMilliseconds(900),
        TtftP95 = TimeSpan.FromMilliseconds(500),
    };

    private readonly FakeTimeProvider _time = new(T0);
    private readonly EndpointBreaker _breaker = new(new BreakerOptions());

    private DateTimeOffset Now => _time.GetUtcNow();

    private void TripAndHalfOpen()
    {
        for (var i = 0; i < 5; i++)
        {
            _breaker.OnOutcome(Fail(Now, OutcomeStatus.Timeout), Baseline);
        }

        Assert.Equal(BreakerState.Open, _breaker.Current(Now).State);
        _time.Advance(_breaker.OpenUntil!.Value - Now);
        Assert.Equal(BreakerState.HalfOpen, _breaker.Current(Now).State);
    }

    private static OutcomeSample Probe(DateTimeOffset at, double latencyMs, double ttftMs = 0) =>
        Ok(at, latencyMs) with { TimeToFirstToken = TimeSpan.FromMilliseconds(ttftMs) };

    [Fact]
    public void A_probe_whose_ttft_is_over_3x_its_baseline_reopens_with_the_next_cooldown()
    {
        TripAndHalfOpen();
        _breaker.DrainEvents();
        Assert.True(_breaker.TryAcquireProbe(Now));
        _breaker.OnOutcome(Probe(Now, latencyMs: 800, ttftMs: 1600), Baseline);

        var view = _breaker.Current(Now);
        Assert.Equal((BreakerState.Open, BreakerReason.ProbeFailed), (view.State, view.Reason));
        Assert.Equal(2, _breaker.Trips);
        Assert.Equal(Now + _breaker.CooldownFor(2), _breaker.OpenUntil);
        Assert.Contains("TTFT 1600 ms = 3.20x baseline 500 ms", Assert.Single(_breaker.DrainEvents()).Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Without_a_ttft_the_total_latency_is_judged_against_the_latency_baseline()
    {
        TripAndHalfOpen();
        Assert.True(_breaker.TryAcquireProbe(Now));
        _breaker.OnOutcome(Probe(Now, latencyMs: 2800), Baseline);
        Assert.Equal(BreakerState.Open, _breaker.Current(Now).State);
    }

    [Fact]
    public void Probes_up_to_3x_their_baseline_close_it_and_without_a_baseline_any_success_does()
    {
        TripAndHalfOpen();
        for (var i = 0; i < 3; i++)
        {
            Assert.True(_breaker.TryAcquireProbe(Now));
            _breaker.OnOutcome(Probe(Now, latencyMs: 2700, ttftMs: 1500), Baseline);
        }

        Assert.Equal(BreakerState.Closed, _breaker.Current(Now).State);

        var unknown = new EndpointBreaker(new BreakerOptions());
        for (var i = 0; i < 5; i++)
        {
            unknown.OnOutcome(Fail(Now, OutcomeStatus.Timeout), BaselineValues.None);
        }

        _time.Advance(unknown.OpenUntil!.Value - Now);
        for (var i = 0; i < 3; i++)
        {
            Assert.True(unknown.TryAcquireProbe(Now));
            unknown.OnOutcome(Probe(Now, latencyMs: 60_000, ttftMs: 30_000), BaselineValues.None);
        }

        Assert.Equal(BreakerState.Closed, unknown.Current(Now).State);
    }

    [Fact]
    public void A_slow_success_outside_half_open_is_not_a_failure()
    {
        _breaker.OnOutcome(Probe(Now, latencyMs: 9000, ttftMs: 5000), Baseline);
        Assert.Equal(BreakerState.Closed, _breaker.Current(Now).State);
        Assert.Equal(0, _breaker.Trips);
    }

    /// <summary>The bad day's latency fault at drill timing, through the health track the endpoint grain uses: ×6 latency
    /// and TTFT for 90 s at 4 requests a second (answers over 4 s time out), routed as the data plane does (nothing while
    /// open, bounded probes while half-open, the ramp's fraction while closed). The endpoint must be back at full
    /// traffic within the cooldown in force at the fault's end + ramp observation + ramp + two evaluations, and stay.
    /// Before probes were judged on latency the breaker closed on slow probes during the fault, the fault's samples held
    /// the ramp, and a latency trip after the fault ended brought it back 95 s late in the full-length drill.</summary>
    [Fact]
    public void After_a_latency_fault_the_endpoint_is_back_within_the_cooldown_in_force_and_the_ramp()
    {
        var options = new EndpointHealthOptions
        {
            Breaker = new BreakerOptions
            {
                Cooldown = TimeSpan.FromSeconds(10),
                MaxCooldown = TimeSpan.FromSeconds(20),
                RampObservation = TimeSpan.FromSeconds(10),
                RampDuration = TimeSpan.FromSeconds(10),
            },
        };
        var track = new HealthTrack(options);
        track.Baseline.Seed(Now, Baseline);
        var evaluation = TimeSpan.FromSeconds(10);
        var step = TimeSpan.FromMilliseconds(250);
        var timeout = TimeSpan.FromSeconds(5);
        var faultStart = T0 + TimeSpan.FromSeconds(130);
        var faultEnd = T0 + TimeSpan.FromSeconds(220);
        var end = T0 + TimeSpan.FromSeconds(330);
        double[] spread = [0.45, 0.55, 0.65, 0.75, 0.85, 0.95];
        var pending = new List<OutcomeSample>();
        var sent = 0;
        var credit = 0.0;
        int? tripsAtFaultEnd = null;
        DateTimeOffset? fullAgain = null;
        var lastEvaluation = Now;
        var tripsBeforeFault = -1;

        while (Now < end)
        {
            _time.Advance(step);
            var now = Now;
            foreach (var done in pending.Where(s => s.At <= now).OrderBy(s => s.At).ToList())
            {
                track.Record(done);
                pending.Remove(done);
            }

            if (now - lastEvaluation >= evaluation)
            {
                lastEvaluation = now;
                track.Evaluate(now);
            }

            if (tripsBeforeFault < 0 && now >= faultStart)
            {
                tripsBeforeFault = track.Breaker.Trips;
            }

            if (tripsAtFaultEnd is null && now >= faultEnd)
            {
                tripsAtFaultEnd = track.Breaker.Trips;
            }

            foreach (var e in track.Breaker.DrainEvents())
            {
                output.WriteLine($"{(e.At - T0).TotalSeconds,6:F1} s {e.From} -> {e.To} {e.Reason}: {e.Detail}");
            }

            var view = track.Breaker.Current(now);
            if (now >= faultEnd && fullAgain is null && view.State == BreakerState.Closed && view.TrafficFraction >= 1)
            {
                fullAgain = now;
            }

            var send = view.State switch
            {
                BreakerState.HalfOpen => track.Breaker.TryAcquireProbe(now),
                BreakerState.Closed => (credit += view.TrafficFraction) >= 1,
                _ => false,
            };
            if (!send)
            {
                continue;
            }

            credit = Math.Max(0, credit - 1);
            var z = spread[sent++ % spread.Length];
            var factor = now >= faultStart && now < faultEnd ? 6 : 1;
            var latency = Baseline.LatencyP95!.Value * z * factor;
            pending.Add(latency > timeout
                ? Fail(now + timeout, OutcomeStatus.Timeout)
                : Ok(now + latency, latency.TotalMilliseconds) with { TimeToFirstToken = Baseline.TtftP95!.Value * z * factor });
        }

        Assert.Equal(0, tripsBeforeFault);
        Assert.True(tripsAtFaultEnd > 0, "the fault should have opened the breaker");
        var limit = track.Breaker.CooldownFor(tripsAtFaultEnd!.Value) + options.Breaker.RampObservation + options.Breaker.RampDuration + (2 * evaluation);
        Assert.NotNull(fullAgain);
        Assert.True(fullAgain!.Value - faultEnd <= limit,
            $"back at full traffic {(fullAgain.Value - faultEnd).TotalSeconds} s after the fault ended, limit {limit.TotalSeconds} s");
        Assert.Equal(tripsAtFaultEnd, track.Breaker.Trips);
        Assert.Equal(1, track.Breaker.Current(Now).TrafficFraction);
    }
}
