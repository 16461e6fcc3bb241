using ControlPlane.Domain.Health;

namespace ControlPlane.Domain.Breakers;

/// <summary>Thresholds of the three-signal breaker (errors, latency against baseline, quality against baseline),
/// its cooldowns, probes, traffic ramp and 429 cooling.</summary>
public sealed class BreakerOptions
{
    private const string Name = nameof(BreakerOptions);

    /// <summary>Consecutive endpoint failures that open the breaker.</summary>
    /// <value>At least 1. Defaults to 5.</value>
    public int ConsecutiveFailures { get; set; } = 5;

    /// <summary>Error rate over the window above which the breaker opens.</summary>
    /// <value>Strictly between 0 and 1. Defaults to 0.05 (5 %).</value>
    public double ErrorRateThreshold { get; set; } = 0.05;

    /// <summary>Served attempts the window needs before the error rate is judged.</summary>
    /// <value>At least 1. Defaults to 20.</value>
    public int MinRequestsForErrorRate { get; set; } = 20;

    /// <summary>p95 latency over this multiple of its baseline counts toward <see cref="DegradedPeriods"/>.</summary>
    /// <value>Greater than 1. Defaults to 3.</value>
    public double DegradedLatencyFactor { get; set; } = 3.0;

    /// <summary>Consecutive evaluation periods over <see cref="DegradedLatencyFactor"/> that mark the endpoint
    /// degraded (and, under it, that clear the mark).</summary>
    /// <value>At least 1. Defaults to 3.</value>
    public int DegradedPeriods { get; set; } = 3;

    /// <summary>p95 latency over this multiple of its baseline counts toward <see cref="OpenLatencyPeriods"/>.</summary>
    /// <value>At least <see cref="DegradedLatencyFactor"/>. Defaults to 5.</value>
    public double OpenLatencyFactor { get; set; } = 5.0;

    /// <summary>Consecutive evaluation periods over <see cref="OpenLatencyFactor"/> that open the breaker.</summary>
    /// <value>At least 1. Defaults to 3.</value>
    public int OpenLatencyPeriods { get; set; } = 3;

    /// <summary>Latency samples an evaluation needs for its p95 to count.</summary>
    /// <value>At least 1. Defaults to 20.</value>
    public int MinLatencySamples { get; set; } = 20;

    /// <summary>Relative drop of the quality pass rate below its baseline that opens the breaker.</summary>
    /// <value>Strictly between 0 and 1. Defaults to 0.15 (15 % below baseline).</value>
    public double QualityDropFraction { get; set; } = 0.15;

    /// <summary>Quality verdicts an evaluation needs before the pass rate is judged.</summary>
    /// <value>At least 1. Defaults to 50.</value>
    public int MinQualitySamples { get; set; } = 50;

    /// <summary>Open time after a first trip.</summary>
    /// <value>Between 100 ms and <see cref="MaxCooldown"/>. Defaults to 60 s.</value>
    public TimeSpan Cooldown { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Factor the cooldown grows by on each further trip (a failed probe included).</summary>
    /// <value>Between 1 and 10. Defaults to 2.</value>
    public double CooldownMultiplier { get; set; } = 2.0;

    /// <summary>Cap of the growing cooldown.</summary>
    /// <value>At least <see cref="Cooldown"/>. Defaults to 10 min.</value>
    public TimeSpan MaxCooldown { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Time closed without a trip after which the cooldown falls back to <see cref="Cooldown"/>.</summary>
    /// <value>Positive. Defaults to 10 min.</value>
    public TimeSpan CooldownResetAfter { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Probes admitted in half-open; that many successes close the breaker.</summary>
    /// <value>At least 1. Defaults to 3.</value>
    public int HalfOpenProbes { get; set; } = 3;

    /// <summary>Time after which unanswered probes are given up and new ones admitted (lost outcomes must
    /// not wedge the breaker half-open).</summary>
    /// <value>Positive. Defaults to 30 s.</value>
    public TimeSpan ProbeTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Traffic fraction right after closing from half-open.</summary>
    /// <value>Strictly between 0 and 1. Defaults to 0.1.</value>
    public double RampStartFraction { get; set; } = 0.1;

    /// <summary>Healthy time the endpoint must show at <see cref="RampStartFraction"/> after closing before its
    /// traffic climbs (the seeds: "primary under 1 % errors for 10 minutes, then shift back gradually").</summary>
    /// <value>Not negative (zero: the climb starts at once). Defaults to 10 min.</value>
    public TimeSpan RampObservation { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Healthy time over which the traffic fraction then climbs linearly to 1.</summary>
    /// <value>Not negative (zero with a zero <see cref="RampObservation"/> means no ramp). Defaults to 2 min.</value>
    public TimeSpan RampDuration { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Error rate, over the window since closing, under which an evaluation period counts as healthy ramp
    /// time. At or above it the ramp holds where it is (the breaker's own signals may still re-open it).</summary>
    /// <value>Strictly between 0 and 1. Defaults to 0.01 (1 %).</value>
    public double RampMaxErrorRate { get; set; } = 0.01;

    /// <summary>Cooling applied on a 429 that carries no Retry-After.</summary>
    /// <value>Not negative. Defaults to 1 s.</value>
    public TimeSpan DefaultRetryAfter { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Cap on a provider's Retry-After, so one bad header cannot bench an endpoint for hours.</summary>
    /// <value>Positive. Defaults to 5 min.</value>
    public TimeSpan MaxRetryAfter { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Confidence of the newest-verdicts quality rule: besides the whole window's pass rate, the breaker judges
    /// the newest verdicts (the newest buckets holding at least <see cref="MinQualitySamples"/>) and opens when the upper
    /// Wilson bound of their pass rate at this many standard deviations is under the quality threshold, so a drift trips
    /// within about <see cref="MinQualitySamples"/> verdicts instead of waiting for it to outweigh the whole window, while
    /// a normal run of bad luck among 50 verdicts does not.</summary>
    /// <value>Between 0 (the newest verdicts' plain pass rate) and 10. Defaults to 3.</value>
    public double QualityConfidenceZ { get; set; } = 3.0;

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first invalid option.</summary>
    public BreakerOptions Validate()
    {
        OptionRules.AtLeast(ConsecutiveFailures, 1, $"{Name}.{nameof(ConsecutiveFailures)}");
        OptionRules.Fraction(ErrorRateThreshold, $"{Name}.{nameof(ErrorRateThreshold)}");
        OptionRules.AtLeast(MinRequestsForErrorRate, 1, $"{Name}.{nameof(MinRequestsForErrorRate)}");
        OptionRules.InRange(DegradedLatencyFactor, 1.0 + 1e-9, 1000, $"{Name}.{nameof(DegradedLatencyFactor)}");
        OptionRules.AtLeast(DegradedPeriods, 1, $"{Name}.{nameof(DegradedPeriods)}");
        OptionRules.InRange(OpenLatencyFactor, DegradedLatencyFactor, 1000, $"{Name}.{nameof(OpenLatencyFactor)}");
        OptionRules.AtLeast(OpenLatencyPeriods, 1, $"{Name}.{nameof(OpenLatencyPeriods)}");
        OptionRules.AtLeast(MinLatencySamples, 1, $"{Name}.{nameof(MinLatencySamples)}");
        OptionRules.Fraction(QualityDropFraction, $"{Name}.{nameof(QualityDropFraction)}");
        OptionRules.AtLeast(MinQualitySamples, 1, $"{Name}.{nameof(MinQualitySamples)}");
        if (Cooldown < TimeSpan.FromMilliseconds(100))
        {
            OptionRules.Fail($"{Name}.{nameof(Cooldown)}", Cooldown, "must be at least 100 ms");
        }

        OptionRules.InRange(CooldownMultiplier, 1, 10, $"{Name}.{nameof(CooldownMultiplier)}");
        if (MaxCooldown < Cooldown)
        {
            OptionRules.Fail($"{Name}.{nameof(MaxCooldown)}", MaxCooldown, $"must be at least {nameof(Cooldown)} ({Cooldown})");
        }

        OptionRules.Positive(CooldownResetAfter, $"{Name}.{nameof(CooldownResetAfter)}");
        OptionRules.AtLeast(HalfOpenProbes, 1, $"{Name}.{nameof(HalfOpenProbes)}");
        OptionRules.Positive(ProbeTimeout, $"{Name}.{nameof(ProbeTimeout)}");
        OptionRules.Fraction(RampStartFraction, $"{Name}.{nameof(RampStartFraction)}");
        OptionRules.NotNegative(RampObservation, $"{Name}.{nameof(RampObservation)}");
        OptionRules.NotNegative(RampDuration, $"{Name}.{nameof(RampDuration)}");
        OptionRules.Fraction(RampMaxErrorRate, $"{Name}.{nameof(RampMaxErrorRate)}");
        OptionRules.NotNegative(DefaultRetryAfter, $"{Name}.{nameof(DefaultRetryAfter)}");
        OptionRules.Positive(MaxRetryAfter, $"{Name}.{nameof(MaxRetryAfter)}");
        OptionRules.InRange(QualityConfidenceZ, 0, 10, $"{Name}.{nameof(QualityConfidenceZ)}");
        return this;
    }
}
