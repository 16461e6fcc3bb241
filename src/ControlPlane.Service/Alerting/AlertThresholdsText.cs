using System.Globalization;
using ControlPlane.Fleet;

namespace ControlPlane.Service.Alerting;

/// <summary>Alert thresholds in words for a reload's change list: the fields that differ from the seeds' defaults, in
/// the fleet file's names (<c>provider_error_rate.threshold=0.02</c>), or <c>defaults</c>.</summary>
internal static class AlertThresholdsText
{
    public static string Describe(AlertThresholds thresholds)
    {
        ArgumentNullException.ThrowIfNull(thresholds);
        var d = AlertThresholds.Defaults;
        var parts = new List<string>();
        Add(parts, "provider_error_rate", thresholds.ProviderErrorRate, d.ProviderErrorRate);
        Add(parts, "provider_latency_p95", thresholds.ProviderLatencyP95, d.ProviderLatencyP95);
        Add(parts, "provider_rate_limited", thresholds.ProviderRateLimited, d.ProviderRateLimited);
        Add(parts, "workflow_failure_rate", thresholds.WorkflowFailureRate, d.WorkflowFailureRate);
        Add(parts, "quality_slo_burn", thresholds.QualitySloBurn, d.QualitySloBurn);
        Add(parts, "fallback_activation", thresholds.FallbackActivation, d.FallbackActivation);
        Add(parts, "cost_per_success", thresholds.CostPerSuccess, d.CostPerSuccess);
        Add(parts, "primary_rate_limit_trend", thresholds.PrimaryRateLimitTrend, d.PrimaryRateLimitTrend);
        Add(parts, "fallback_quality_decline", thresholds.FallbackQualityDecline, d.FallbackQualityDecline);
        return parts.Count == 0 ? "defaults" : string.Join(", ", parts);
    }

    private static void Add(List<string> parts, string rule, RuleThresholds t, RuleThresholds d)
    {
        Field(parts, rule, "threshold", t.Threshold, d.Threshold);
        Field(parts, rule, "critical", t.Critical, d.Critical);
        Field(parts, rule, "min_requests", t.MinRequests, d.MinRequests);
        Field(parts, rule, "factor", t.Factor, d.Factor);
        Field(parts, rule, "budget_share", t.BudgetShare, d.BudgetShare);
        Field(parts, rule, "increase", t.Increase, d.Increase);
        Field(parts, rule, "drop", t.Drop, d.Drop);
        Span(parts, rule, "window", t.Window, d.Window);
        Span(parts, rule, "for", t.For, d.For);
        Span(parts, rule, "baseline", t.Baseline, d.Baseline);
    }

    private static void Field(List<string> parts, string rule, string name, double? value, double? basis)
    {
        if (value is { } v && v != basis)
        {
            parts.Add($"{rule}.{name}={v.ToString(CultureInfo.InvariantCulture)}");
        }
    }

    private static void Field(List<string> parts, string rule, string name, int? value, int? basis)
    {
        if (value is { } v && v != basis)
        {
            parts.Add($"{rule}.{name}={v.ToString(CultureInfo.InvariantCulture)}");
        }
    }

    private static void Span(List<string> parts, string rule, string name, TimeSpan? value, TimeSpan? basis)
    {
        if (value is { } v && v != basis)
        {
            parts.Add($"{rule}.{name}={EndpointAlertRules.Words(v)}");
        }
    }
}
