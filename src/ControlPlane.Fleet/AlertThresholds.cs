namespace ControlPlane.Fleet;

/// <summary>The tunable numbers of one alert rule (one entry of <c>alerting.thresholds</c> or of a class's or
/// endpoint's <c>alerts:</c>). Null members are not given here and come from the next level down (class or endpoint
/// override, then the fleet-wide default, then <see cref="AlertThresholds.Defaults"/>); which members a rule reads is
/// listed in <c>docs/alerts.md</c>.</summary>
public sealed record RuleThresholds
{
    /// <summary>The share (0..1) that fires the rule (<c>threshold</c>).</summary>
    public double? Threshold { get; init; }

    /// <summary>The share (0..1) that escalates the rule to critical (<c>critical</c>).</summary>
    public double? Critical { get; init; }

    /// <summary>Events a window needs before a share is judged (<c>min_requests</c>).</summary>
    public int? MinRequests { get; init; }

    /// <summary>The multiple of a baseline that fires the rule (<c>factor</c>).</summary>
    public double? Factor { get; init; }

    /// <summary>The share of the error budget (0..1) whose burning within the window fires the rule (<c>budget_share</c>).</summary>
    public double? BudgetShare { get; init; }

    /// <summary>The relative rise over the baseline that fires the rule (<c>increase</c>, 0.2 = 20 %).</summary>
    public double? Increase { get; init; }

    /// <summary>The relative drop under the earlier level that fires the rule (<c>drop</c>, 0.05 = 5 %).</summary>
    public double? Drop { get; init; }

    /// <summary>The span a value is measured over (<c>window</c>).</summary>
    public TimeSpan? Window { get; init; }

    /// <summary>How long the condition must hold (pending) before the alert fires (<c>for</c>).</summary>
    public TimeSpan? For { get; init; }

    /// <summary>The span a baseline is learned over (<c>baseline</c>).</summary>
    public TimeSpan? Baseline { get; init; }

    /// <summary>These numbers, with the members not given here taken from <paramref name="basis"/>.</summary>
    public RuleThresholds Over(RuleThresholds basis)
    {
        ArgumentNullException.ThrowIfNull(basis);
        return new()
        {
            Threshold = Threshold ?? basis.Threshold,
            Critical = Critical ?? basis.Critical,
            MinRequests = MinRequests ?? basis.MinRequests,
            Factor = Factor ?? basis.Factor,
            BudgetShare = BudgetShare ?? basis.BudgetShare,
            Increase = Increase ?? basis.Increase,
            Drop = Drop ?? basis.Drop,
            Window = Window ?? basis.Window,
            For = For ?? basis.For,
            Baseline = Baseline ?? basis.Baseline,
        };
    }
}

/// <summary>The thresholds of every tunable alert rule (<c>alerting.thresholds</c> in the fleet file; a class's or an
/// endpoint's <c>alerts:</c> overrides them for that target). <see cref="Defaults"/> holds the seeds' numbers.</summary>
public sealed record AlertThresholds
{
    /// <summary>The seeds' numbers, used for every member a fleet file does not give.</summary>
    public static readonly AlertThresholds Defaults = new()
    {
        ProviderErrorRate = new() { Threshold = 0.05, Window = TimeSpan.FromMinutes(5), Critical = 0.15, MinRequests = 20 },
        ProviderLatencyP95 = new() { Factor = 2.0, For = TimeSpan.FromMinutes(3) },
        ProviderRateLimited = new() { Threshold = 0.02, Window = TimeSpan.FromMinutes(2) },
        WorkflowFailureRate = new() { Threshold = 0.01, Window = TimeSpan.FromMinutes(10) },
        QualitySloBurn = new() { BudgetShare = 0.05, Window = TimeSpan.FromHours(1) },
        FallbackActivation = new() { Threshold = 0.10, For = TimeSpan.FromMinutes(30) },
        CostPerSuccess = new() { Increase = 0.20, For = TimeSpan.FromHours(2), Baseline = TimeSpan.FromDays(7) },
        PrimaryRateLimitTrend = new() { Window = TimeSpan.FromHours(24) },
        FallbackQualityDecline = new() { Window = TimeSpan.FromDays(7), Drop = 0.05 },
    };

    /// <summary><c>provider_error_rate</c>: threshold, window, critical, min_requests.</summary>
    public RuleThresholds ProviderErrorRate { get; init; } = new();

    /// <summary><c>provider_latency_p95</c>: factor, for.</summary>
    public RuleThresholds ProviderLatencyP95 { get; init; } = new();

    /// <summary><c>provider_rate_limited</c>: threshold, window.</summary>
    public RuleThresholds ProviderRateLimited { get; init; } = new();

    /// <summary><c>workflow_failure_rate</c>: threshold, window.</summary>
    public RuleThresholds WorkflowFailureRate { get; init; } = new();

    /// <summary><c>quality_slo_burn</c>: budget_share, window.</summary>
    public RuleThresholds QualitySloBurn { get; init; } = new();

    /// <summary><c>fallback_activation</c>: threshold, for.</summary>
    public RuleThresholds FallbackActivation { get; init; } = new();

    /// <summary><c>cost_per_success</c>: increase, for, baseline.</summary>
    public RuleThresholds CostPerSuccess { get; init; } = new();

    /// <summary><c>primary_rate_limit_trend</c>: window.</summary>
    public RuleThresholds PrimaryRateLimitTrend { get; init; } = new();

    /// <summary><c>fallback_quality_decline</c>: window, drop.</summary>
    public RuleThresholds FallbackQualityDecline { get; init; } = new();

    /// <summary>These thresholds, with every member not given here taken from <paramref name="basis"/>.</summary>
    public AlertThresholds Over(AlertThresholds basis)
    {
        ArgumentNullException.ThrowIfNull(basis);
        return new()
        {
            ProviderErrorRate = ProviderErrorRate.Over(basis.ProviderErrorRate),
            ProviderLatencyP95 = ProviderLatencyP95.Over(basis.ProviderLatencyP95),
            ProviderRateLimited = ProviderRateLimited.Over(basis.ProviderRateLimited),
            WorkflowFailureRate = WorkflowFailureRate.Over(basis.WorkflowFailureRate),
            QualitySloBurn = QualitySloBurn.Over(basis.QualitySloBurn),
            FallbackActivation = FallbackActivation.Over(basis.FallbackActivation),
            CostPerSuccess = CostPerSuccess.Over(basis.CostPerSuccess),
            PrimaryRateLimitTrend = PrimaryRateLimitTrend.Over(basis.PrimaryRateLimitTrend),
            FallbackQualityDecline = FallbackQualityDecline.Over(basis.FallbackQualityDecline),
        };
    }
}
