using ControlPlane.Domain.Baselines;
using ControlPlane.Domain.Breakers;
using ControlPlane.Domain.Endpoints;
using ControlPlane.Domain.Health;
using Microsoft.Extensions.Time.Testing;

namespace ControlPlane.Domain.Tests.Health;

/// <summary>The full-length bad day's quality drift, replayed on a fake clock: <c>openai-gpt41-us</c> (no fleet baseline)
/// serves customer_chat (a primary), browser_agent and internal_copilot (its fallback during the 429 storm, 80-150 s) at
/// about 6.5 attempts a second, every answer graded; from 200 s to 270 s every answer is drifted (HTTP 200, wrong).
/// The drill measured no trip at all: the quality baseline was never trusted (one observation a minute, 30 needed) and
/// the whole 5-minute window needed minutes of drift to fall under the threshold.</summary>
public sealed class QualityDriftOverlapTests
{
    private static readonly TimeSpan DriftStart = TimeSpan.FromSeconds(200);
    private static readonly TimeSpan DriftEnd = TimeSpan.FromSeconds(270);

    // Attempts per second the endpoint receives per class while fully admitted (the drill's 6.45 attempts/s).
    private static readonly (string Class, double Rate, double From, double To)[] Traffic =
    [
        ("customer_chat", 4.0, 0, 330),
        ("browser_agent", 2.0, 0, 330),
        ("internal_copilot", 1.5, 80, 150),
    ];

    private readonly FakeTimeProvider _time = new(Samples.T0.AddSeconds(3));

    [Fact]
    public void The_bad_day_drift_opens_the_breaker_within_its_limit_and_traffic_comes_back_after_it()
    {
        var options = new EndpointHealthOptions();
        // The drill's breaker timing (DrillTuning); detection thresholds stay at production values.
        options.Breaker.Cooldown = TimeSpan.FromSeconds(10);
        options.Breaker.MaxCooldown = TimeSpan.FromSeconds(20);
        options.Breaker.RampObservation = TimeSpan.FromSeconds(10);
        options.Breaker.RampDuration = TimeSpan.FromSeconds(10);
        var health = new EndpointHealth("openai-gpt41-us", options, _time);
        var start = _time.GetUtcNow();
        var owed = new double[Traffic.Length];
        var n = 0;
        TimeSpan? opened = null, backAfterDrift = null;
        for (var second = 0; second < 330; second++)
        {
            var t = TimeSpan.FromSeconds(second);
            var drifted = t >= DriftStart && t < DriftEnd;
            for (var c = 0; c < Traffic.Length; c++)
            {
                var (cls, rate, from, to) = Traffic[c];
                if (second < from || second >= to)
                {
                    continue;
                }

                // Routing reads the endpoint-wide view (the endpoint grain publishes _health.Current()).
                var view = health.Current();
                var attempts = view.State switch
                {
                    BreakerState.Closed => owed[c] += rate * view.TrafficFraction,
                    BreakerState.HalfOpen => health.TryAcquireProbe() ? owed[c] += 1 : 0,
                    _ => 0,
                };
                for (; owed[c] >= 1; owed[c]--)
                {
                    // Normal answers pass but for one in 25; drifted ones all fail.
                    var pass = !drifted && ++n % 25 != 0;
                    var at = start + t + TimeSpan.FromMilliseconds(1000 * (owed[c] % 1));
                    health.Record(Samples.Ok(at, 900, pass ? QualityVerdict.Pass : QualityVerdict.Fail), cls);
                }
            }

            _time.Advance(TimeSpan.FromSeconds(1));
            if (second % 10 == 9)
            {
                health.Evaluate();
            }

            var endpoint = health.Current();
            if (t < DriftStart)
            {
                Assert.Equal(BreakerState.Closed, endpoint.State);
            }
            else if (opened is null && endpoint.State == BreakerState.Open)
            {
                Assert.Equal(BreakerReason.Quality, endpoint.Reason);
                opened = t + TimeSpan.FromSeconds(1) - DriftStart;
            }

            if (t >= DriftEnd && backAfterDrift is null && endpoint.State == BreakerState.Closed && endpoint.TrafficFraction >= 1)
            {
                backAfterDrift = t + TimeSpan.FromSeconds(1) - DriftEnd;
            }
        }

        // The drill's limit: max(30 s, 50 verdicts / 6.45 attempts/s + one 10 s evaluation).
        Assert.NotNull(opened);
        Assert.InRange(opened.Value, TimeSpan.Zero, TimeSpan.FromSeconds(30));
        // Back within the capped cooldown + ramp observation + ramp + two evaluations (60 s).
        Assert.NotNull(backAfterDrift);
        Assert.InRange(backAfterDrift.Value, TimeSpan.Zero, TimeSpan.FromSeconds(60));
        // The drifted minute never became the baseline.
        Assert.InRange(health.Endpoint.Baseline.Current.QualityPassRate!.Value, 0.9, 1);
    }

    [Fact]
    public void A_busy_endpoint_without_a_fleet_baseline_gets_a_quality_baseline_from_its_first_window()
    {
        var baseline = new RollingBaseline(new BaselineOptions());
        var now = Samples.T0;
        var feed = new HealthSnapshot { QualityPasses = 380, QualityFailures = 20 };
        baseline.Observe(now, feed);
        baseline.Bootstrap(now, feed);
        Assert.Null(baseline.Current.QualityPassRate); // one observation of 30: Bootstrap skips an observed metric

        Assert.True(baseline.BootstrapQuality(now, feed));
        Assert.Equal(0.95, baseline.Current.QualityPassRate!.Value, 6);
        Assert.False(baseline.BootstrapQuality(now, new HealthSnapshot { QualityPasses = 10, QualityFailures = 390 }));
        Assert.Equal(0.95, baseline.Current.QualityPassRate!.Value, 6);
    }

    [Fact]
    public void The_newest_verdicts_trip_a_drift_the_whole_window_still_hides_but_not_bad_luck()
    {
        var window = new HealthWindow(new HealthWindowOptions());
        var now = Samples.T0;
        // Four minutes of good answers (5 a second), then 20 s of drift.
        for (var s = 0; s < 260; s++)
        {
            for (var i = 0; i < 5; i++)
            {
                var pass = s < 240 && (s * 5) + i is var k && k % 20 != 0;
                window.Record(Samples.Ok(now.AddSeconds(s).AddMilliseconds(i * 100), 100, pass ? QualityVerdict.Pass : QualityVerdict.Fail));
            }
        }

        now = now.AddSeconds(260);
        var baseline = new BaselineValues { QualityPassRate = 0.95 };
        var whole = window.Snapshot(now);
        Assert.True(whole.QualityPassRate > 0.95 * 0.85); // the old rule alone does not trip yet

        var newest = window.WeakestQuality(now, null, 50, 3);
        Assert.Equal(0, newest.Passes);
        Assert.InRange(newest.Verdicts, 50, 100);
        var breaker = new EndpointBreaker(new BreakerOptions());
        breaker.Evaluate(now, whole, baseline);
        Assert.Equal(BreakerState.Closed, breaker.AutomaticState);
        breaker.Evaluate(now, whole, baseline, newest);
        Assert.Equal(BreakerState.Open, breaker.AutomaticState);
        Assert.Equal(BreakerReason.Quality, breaker.Current(now).Reason);

        // 38 of 50 (76 %, under 80.75 %) is within bad luck at z = 3: no trip; at z = 0 it trips.
        var unlucky = new QualityEvidence(38, 50);
        var patient = new EndpointBreaker(new BreakerOptions());
        patient.Evaluate(now, default, baseline, unlucky);
        Assert.Equal(BreakerState.Closed, patient.AutomaticState);
        var plain = new EndpointBreaker(new BreakerOptions { QualityConfidenceZ = 0 });
        plain.Evaluate(now, default, baseline, unlucky);
        Assert.Equal(BreakerState.Open, plain.AutomaticState);
    }
}
