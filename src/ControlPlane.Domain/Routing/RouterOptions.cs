namespace ControlPlane.Domain.Routing;

/// <summary>Tuning of the decision function: load balancing weights and the adaptive timeout.</summary>
public sealed record RouterOptions
{
    /// <summary>Weight multiplier of an endpoint flagged degraded (p95 above its degraded threshold).</summary>
    /// <value>In [0, 1]. Defaults to 0.25.</value>
    public double DegradedWeight { get; init; } = 0.25;

    /// <summary>How much recent errors make an endpoint look more loaded: cost × (1 + penalty × error rate).</summary>
    /// <value>Between 0 and 100. Defaults to 4.</value>
    public double ErrorPenalty { get; init; } = 4.0;

    /// <summary>Multiplier over the p95-based estimate of an attempt's duration.</summary>
    /// <value>Between 1 and 10. Defaults to 1.5.</value>
    public double TimeoutHeadroom { get; init; } = 1.5;

    /// <summary>The shortest timeout budget (unless the remaining deadline is shorter).</summary>
    /// <value>Between 10 ms and <see cref="TimeoutCeiling"/>. Defaults to 2 s.</value>
    public TimeSpan TimeoutFloor { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>The longest timeout budget.</summary>
    /// <value>Between <see cref="TimeoutFloor"/> and 1 h. Defaults to 10 min.</value>
    public TimeSpan TimeoutCeiling { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Budget used while an endpoint has no latency figures yet.</summary>
    /// <value>Between <see cref="TimeoutFloor"/> and <see cref="TimeoutCeiling"/>. Defaults to 60 s.</value>
    public TimeSpan DefaultTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Throws <see cref="ArgumentException"/> naming the offending field.</summary>
    public void Validate()
    {
        static void Require(bool ok, string field, string message)
        {
            if (!ok)
            {
                throw new ArgumentException($"{field}: {message}", field);
            }
        }

        Require(DegradedWeight is >= 0 and <= 1, "degradedWeight", "must be between 0 and 1");
        Require(ErrorPenalty is >= 0 and <= 100, "errorPenalty", "must be between 0 and 100");
        Require(TimeoutHeadroom is >= 1 and <= 10, "timeoutHeadroom", "must be between 1 and 10");
        Require(TimeoutFloor >= TimeSpan.FromMilliseconds(10) && TimeoutFloor <= TimeoutCeiling, "timeoutFloor", "must be between 10 ms and timeoutCeiling");
        Require(TimeoutCeiling <= TimeSpan.FromHours(1), "timeoutCeiling", "must be at most 1 h");
        Require(DefaultTimeout >= TimeoutFloor && DefaultTimeout <= TimeoutCeiling, "defaultTimeout", "must be between timeoutFloor and timeoutCeiling");
    }
}
