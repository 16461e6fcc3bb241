using ControlPlane.Domain.Baselines;
using ControlPlane.Domain.Endpoints;
using ControlPlane.Domain.Health;

namespace ControlPlane.Domain.Breakers;

// Probe latency: a half-open probe must show the endpoint healthy, not only answering. Without this, a latency fault
// that does not time requests out closes the breaker on its first slow probes; the ramp then runs on the fault's own
// samples (the window since closing holds them), stalls or re-trips after the fault ended, and the endpoint comes back
// one or two cooldowns late.
public sealed partial class EndpointBreaker
{
    /// <summary>Feeds one outcome as <see cref="OnOutcome(in OutcomeSample)"/> does, and judges a half-open probe's
    /// latency against <paramref name="baseline"/>: a probe that succeeds more than
    /// <see cref="BreakerOptions.DegradedLatencyFactor"/> times slower than the baseline p95 (its time to first token
    /// against the TTFT baseline when both are known, else its total latency against the latency baseline) fails the
    /// probe set and re-opens the breaker with the next, longer cooldown. Without a baseline a success is a success.
    /// When the breaker opened for quality, a probe whose answer failed its quality check (a graded verdict of
    /// <see cref="QualityVerdict.Fail"/>) re-opens it for quality too: the drift is not over. Ungraded probes are judged
    /// as before.</summary>
    public void OnOutcome(in OutcomeSample sample, in BaselineValues baseline)
    {
        Advance(sample.At);
        if (_state == BreakerState.HalfOpen && sample.Status == OutcomeStatus.Success && sample.At >= _since)
        {
            if (_reason == BreakerReason.Quality && sample.Quality == QualityVerdict.Fail)
            {
                // Opened for quality: a probe that answers but fails its grading shows the drift goes on. The breaker
                // re-opens for quality (so the next probes are judged the same way) with the next cooldown.
                Trip(sample.At, BreakerReason.Quality, "probe answered but failed its quality check");
                return;
            }

            if (SlowProbe(sample, baseline, _options.DegradedLatencyFactor) is { } detail)
            {
                Trip(sample.At, BreakerReason.ProbeFailed, detail);
                return;
            }
        }

        OnOutcome(sample);
    }

    // Why a successful probe is too slow to show recovery, or null when it is not (or nothing can be judged).
    private static string? SlowProbe(in OutcomeSample sample, in BaselineValues baseline, double factor)
    {
        if (sample.TimeToFirstToken > TimeSpan.Zero && baseline.TtftP95 is { } ttftBase && ttftBase > TimeSpan.Zero)
        {
            var ratio = sample.TimeToFirstToken / ttftBase;
            return ratio > factor
                ? Invariant($"probe succeeded but its TTFT {sample.TimeToFirstToken.TotalMilliseconds:F0} ms = {ratio:F2}x baseline {ttftBase.TotalMilliseconds:F0} ms > {factor}x")
                : null;
        }

        if (sample.Latency > TimeSpan.Zero && baseline.LatencyP95 is { } latencyBase && latencyBase > TimeSpan.Zero)
        {
            var ratio = sample.Latency / latencyBase;
            return ratio > factor
                ? Invariant($"probe succeeded but took {sample.Latency.TotalMilliseconds:F0} ms = {ratio:F2}x baseline p95 {latencyBase.TotalMilliseconds:F0} ms > {factor}x")
                : null;
        }

        return null;
    }
}
