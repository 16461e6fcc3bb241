using ControlPlane.Domain.Health;

namespace ControlPlane.Domain.Slo;

/// <summary>SLO targets, error-budget period and alert rules of a workload class.</summary>
public sealed class SloOptions
{
    private const string Name = nameof(SloOptions);

    /// <summary>Share of requests that must be served without an endpoint failure or an unabsorbed 429.</summary>
    /// <value>Strictly between 0 and 1. Defaults to 0.995.</value>
    public double AvailabilityTarget { get; set; } = 0.995;

    /// <summary>Share of quality verdicts that must pass.</summary>
    /// <value>Strictly between 0 and 1. Defaults to 0.95.</value>
    public double QualityTarget { get; set; } = 0.95;

    /// <summary>The latency objective: a served request slower than this is a bad event of the latency SLO (the
    /// class's <c>slo.latency_p95_ms</c>); null for no latency SLO.</summary>
    /// <value>Null, or between 1 ms and 1 day. Defaults to null.</value>
    public TimeSpan? LatencyThreshold { get; set; }

    /// <summary>Share of served requests that must be no slower than <see cref="LatencyThreshold"/> (0.95: the
    /// threshold is a p95 objective).</summary>
    /// <value>Strictly between 0 and 1. Defaults to 0.95.</value>
    public double LatencyTarget { get; set; } = 0.95;

    /// <summary>Period the error budget covers.</summary>
    /// <value>Between 1 day and 90 days, whole hours. Defaults to 30 days.</value>
    public TimeSpan BudgetPeriod { get; set; } = TimeSpan.FromDays(30);

    /// <summary>Multi-window burn-rate rules.</summary>
    /// <value>Long windows up to 7 days, short windows shorter than long ones. Defaults to <see cref="BurnRateRule.Workbook"/>.</value>
    public IReadOnlyList<BurnRateRule> BurnRateRules { get; set; } = BurnRateRule.Workbook;

    /// <summary>Events the short window of a burn-rate rule (or a fallback window) needs before it may fire,
    /// so one failed request at 3 a.m. does not page.</summary>
    /// <value>At least 1. Defaults to 10.</value>
    public int MinEventsPerWindow { get; set; } = 10;

    /// <summary>Share of requests served by a fallback endpoint above which the fallback alerts fire.</summary>
    /// <value>Strictly between 0 and 1. Defaults to 0.10.</value>
    public double FallbackThreshold { get; set; } = 0.10;

    /// <summary>Window of the tactical (page) fallback alert.</summary>
    /// <value>Between 1 min and 1 day. Defaults to 5 min.</value>
    public TimeSpan FallbackPageWindow { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Window of the strategic (ticket) fallback alert.</summary>
    /// <value>Between 1 min and 1 day. Defaults to 30 min.</value>
    public TimeSpan FallbackTicketWindow { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first invalid option.</summary>
    public SloOptions Validate()
    {
        OptionRules.Fraction(AvailabilityTarget, $"{Name}.{nameof(AvailabilityTarget)}");
        OptionRules.Fraction(QualityTarget, $"{Name}.{nameof(QualityTarget)}");
        OptionRules.Fraction(LatencyTarget, $"{Name}.{nameof(LatencyTarget)}");
        if (LatencyThreshold is { } threshold && (threshold < TimeSpan.FromMilliseconds(1) || threshold > TimeSpan.FromDays(1)))
        {
            OptionRules.Fail($"{Name}.{nameof(LatencyThreshold)}", threshold, "must be between 1 ms and 1 day");
        }

        if (BudgetPeriod < TimeSpan.FromDays(1) || BudgetPeriod > TimeSpan.FromDays(90) || BudgetPeriod.Ticks % TimeSpan.TicksPerHour != 0)
        {
            OptionRules.Fail($"{Name}.{nameof(BudgetPeriod)}", BudgetPeriod, "must be whole hours between 1 and 90 days");
        }

        if (BurnRateRules is null)
        {
            OptionRules.Fail($"{Name}.{nameof(BurnRateRules)}", null, "must not be null");
        }

        foreach (var rule in BurnRateRules!)
        {
            if (rule.LongWindow < TimeSpan.FromMinutes(1) || rule.LongWindow > TimeSpan.FromDays(7)
                || rule.ShortWindow < TimeSpan.FromMinutes(1) || rule.ShortWindow >= rule.LongWindow || !(rule.BurnRate > 0))
            {
                OptionRules.Fail($"{Name}.{nameof(BurnRateRules)}", rule,
                    "must have 1 min <= short window < long window <= 7 days and a positive burn rate");
            }
        }

        OptionRules.AtLeast(MinEventsPerWindow, 1, $"{Name}.{nameof(MinEventsPerWindow)}");
        OptionRules.Fraction(FallbackThreshold, $"{Name}.{nameof(FallbackThreshold)}");
        CheckWindow(FallbackPageWindow, nameof(FallbackPageWindow));
        CheckWindow(FallbackTicketWindow, nameof(FallbackTicketWindow));
        return this;
    }

    private static void CheckWindow(TimeSpan window, string option)
    {
        if (window < TimeSpan.FromMinutes(1) || window > TimeSpan.FromDays(1))
        {
            OptionRules.Fail($"{Name}.{option}", window, "must be between 1 min and 1 day");
        }
    }
}
