namespace ControlPlane.Drills.Stack;

/// <summary>The control plane's breaker timing for a drill. Production waits 60 s before a first probe and watches a
/// recovered endpoint for 10 minutes before its traffic climbs over 2 more: no drill of a few minutes would ever see
/// traffic come back. A drill's embedded control plane runs with these values instead, and the recovery target is
/// judged against them (cooldown at the fault's end + ramp observation + ramp duration + two evaluation periods).
/// Detection is left at production values (evaluation period, failure and sample thresholds), so time-to-detect and
/// time-to-route-around are production figures.</summary>
public sealed record DrillTuning
{
    /// <summary>Open time after a first trip (production: 60 s).</summary>
    public TimeSpan Cooldown { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Growth of the cooldown on each further trip (production: 2).</summary>
    public double CooldownMultiplier { get; init; } = 2;

    /// <summary>Cap of the growing cooldown (production: 10 min).</summary>
    public TimeSpan MaxCooldown { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>Healthy time at the ramp's start fraction before traffic climbs (production: 10 min).</summary>
    public TimeSpan RampObservation { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Healthy time over which traffic then climbs to full (production: 2 min).</summary>
    public TimeSpan RampDuration { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The endpoint grains' evaluation period (production and drills: 10 s).</summary>
    public TimeSpan EvaluationPeriod { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Quality verdicts an evaluation needs before the pass rate is judged (production and drills: 50).</summary>
    public int MinQualitySamples { get; init; } = 50;

    /// <summary>The longest the control plane may take to put traffic back on a recovered endpoint whose breaker had
    /// tripped <paramref name="trips"/> times by the fault's end.</summary>
    public TimeSpan RecoveryLimit(int trips)
    {
        var cooldown = Cooldown.TotalSeconds * Math.Pow(CooldownMultiplier, Math.Clamp(trips - 1, 0, 30));
        var capped = Math.Min(cooldown, MaxCooldown.TotalSeconds);
        return TimeSpan.FromSeconds(capped) + RampObservation + RampDuration + 2 * EvaluationPeriod;
    }
}
