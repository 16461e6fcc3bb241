using System.Globalization;
using ControlPlane.Fleet.Yaml;

namespace ControlPlane.Fleet;

/// <summary>Alert thresholds: the top-level <c>alerting.thresholds</c> (fleet-wide defaults), a class's or endpoint's
/// <c>alerts:</c> (overrides for that target) and the class field <c>production</c>. Every rule and field is optional;
/// unknown ones and out-of-range values are errors at their position.</summary>
internal sealed partial class FleetConfigReader
{
    // Rule key -> the fields it takes, each with its bounds (durations in the rule's own bounds).
    private static readonly Dictionary<string, AlertField[]> AlertRules = new(StringComparer.Ordinal)
    {
        ["provider_error_rate"] = [AlertField.Share("threshold"), AlertField.Span("window", 1, 60), AlertField.Share("critical"), AlertField.Count("min_requests")],
        ["provider_latency_p95"] = [AlertField.Multiple("factor"), AlertField.Span("for", 0, 60)],
        ["provider_rate_limited"] = [AlertField.Share("threshold"), AlertField.Span("window", 1, 60)],
        ["workflow_failure_rate"] = [AlertField.Share("threshold"), AlertField.Span("window", 1, 6 * 60)],
        ["quality_slo_burn"] = [AlertField.Share("budget_share"), AlertField.Span("window", 5, 24 * 60)],
        ["fallback_activation"] = [AlertField.Share("threshold"), AlertField.Span("for", 0, 24 * 60)],
        ["cost_per_success"] = [AlertField.Rise("increase"), AlertField.Span("for", 0, 24 * 60), AlertField.Span("baseline", 24 * 60, 14 * 24 * 60)],
        ["primary_rate_limit_trend"] = [AlertField.Span("window", 2 * 60, 7 * 24 * 60)],
        ["fallback_quality_decline"] = [AlertField.Span("window", 2 * 24 * 60, 30 * 24 * 60), AlertField.Share("drop")],
    };

    private AlertThresholds _alertDefaults = AlertThresholds.Defaults;

    // The `alerting:` mapping, read (and its keys checked) once here; delivery's part reads runbook_base_url from it.
    private MappingReader? _alertingSection;

    // `alerting:` (read before the endpoints and classes, whose overrides resolve over its thresholds). The
    // runbook_base_url key belongs to delivery (docs/alerts.md); it is accepted here.
    private void ReadAlerting(MappingReader top)
    {
        if (top.Optional("alerting") is not { } node
            || MappingReader.Create(node, top.Child("alerting"), _errors, "runbook_base_url", "thresholds") is not { } alerting)
        {
            return;
        }

        _alertingSection = alerting;
        if (alerting.Optional("thresholds") is { } thresholds)
        {
            _alertDefaults = ReadAlertRules(thresholds, alerting.Child("thresholds")).Over(AlertThresholds.Defaults);
        }
    }

    // A class's or endpoint's `alerts:`: the overrides as given (null members: not given).
    private AlertThresholds ReadAlertOverrides(MappingReader reader) =>
        reader.Optional("alerts") is { } node ? ReadAlertRules(node, reader.Child("alerts")) : new AlertThresholds();

    // `production: true|false`; absent: true (a class is production unless it says otherwise).
    private static bool ReadProduction(MappingReader reader, ConfigErrorSink errors) =>
        reader.Optional("production") is not { } node || YamlBooleans.Read(node, reader.Child("production"), errors);

    private AlertThresholds ReadAlertRules(ConfigNode node, string path)
    {
        var result = new AlertThresholds();
        if (MappingReader.Create(node, path, _errors, [.. AlertRules.Keys]) is not { } rules)
        {
            return result;
        }

        foreach (var (rule, fields) in AlertRules)
        {
            if (rules.Optional(rule) is not { } ruleNode
                || MappingReader.Create(ruleNode, rules.Child(rule), _errors, [.. fields.Select(f => f.Name)]) is not { } reader)
            {
                continue;
            }

            var values = new RuleThresholds();
            foreach (var field in fields)
            {
                if (reader.Optional(field.Name) is { } valueNode)
                {
                    values = ReadAlertField(values, field, valueNode, reader.Child(field.Name));
                }
            }

            result = rule switch
            {
                "provider_error_rate" => result with { ProviderErrorRate = values },
                "provider_latency_p95" => result with { ProviderLatencyP95 = values },
                "provider_rate_limited" => result with { ProviderRateLimited = values },
                "workflow_failure_rate" => result with { WorkflowFailureRate = values },
                "quality_slo_burn" => result with { QualitySloBurn = values },
                "fallback_activation" => result with { FallbackActivation = values },
                "cost_per_success" => result with { CostPerSuccess = values },
                "primary_rate_limit_trend" => result with { PrimaryRateLimitTrend = values },
                _ => result with { FallbackQualityDecline = values },
            };
        }

        if (result.ProviderErrorRate is { Threshold: { } threshold, Critical: { } critical } && critical <= threshold)
        {
            _errors.Add(node, rules.Child("provider_error_rate") + ".critical",
                $"must be above the threshold ({threshold.ToString(CultureInfo.InvariantCulture)}), got {critical.ToString(CultureInfo.InvariantCulture)}");
        }

        return result;
    }

    private RuleThresholds ReadAlertField(RuleThresholds values, AlertField field, ConfigNode node, string path)
    {
        if (field.Kind == AlertFieldKind.Span)
        {
            return ReadAlertSpan(node, path, field) is { } span
                ? field.Name switch
                {
                    "window" => values with { Window = span },
                    "for" => values with { For = span },
                    _ => values with { Baseline = span },
                }
                : values;
        }

        if (field.Kind == AlertFieldKind.Count)
        {
            if (ScalarValues.TryInt32(node, path, _errors, out int count))
            {
                if (count is >= 1 and <= 1_000_000)
                {
                    return values with { MinRequests = count };
                }

                _errors.Add(node, path, $"must be between 1 and 1000000, got {count}");
            }

            return values;
        }

        if (!ScalarValues.TryDouble(node, path, _errors, out double value))
        {
            return values;
        }

        var (min, max, words) = field.Kind switch
        {
            AlertFieldKind.Share => (0.0, 1.0, "a share strictly between 0 and 1"),
            AlertFieldKind.Multiple => (1.0, 100.0, "a factor above 1 and at most 100"),
            _ => (0.0, 10.0, "a relative rise above 0 and at most 10"),
        };
        bool ok = field.Kind == AlertFieldKind.Share ? value > min && value < max : value > min && value <= max;
        if (!ok)
        {
            _errors.Add(node, path, $"must be {words}, got {value.ToString(CultureInfo.InvariantCulture)}");
            return values;
        }

        return field.Name switch
        {
            "threshold" => values with { Threshold = value },
            "critical" => values with { Critical = value },
            "factor" => values with { Factor = value },
            "budget_share" => values with { BudgetShare = value },
            "increase" => values with { Increase = value },
            _ => values with { Drop = value },
        };
    }

    // Durations are a whole number with a unit: 90s, 5m, 2h, 7d.
    private TimeSpan? ReadAlertSpan(ConfigNode node, string path, AlertField field)
    {
        if (!ScalarValues.TryString(node, path, _errors, out string text))
        {
            return null;
        }

        TimeSpan? span = null;
        if (text.Length is >= 2 and <= 12
            && long.TryParse(text.AsSpan(0, text.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out long amount)
            && amount <= 1_000_000)
        {
            span = text[^1] switch
            {
                's' => TimeSpan.FromSeconds(amount),
                'm' => TimeSpan.FromMinutes(amount),
                'h' => TimeSpan.FromHours(amount),
                'd' => TimeSpan.FromDays(amount),
                _ => null,
            };
        }

        if (span is null)
        {
            _errors.Add(node, path, $"expected a duration such as 90s, 5m, 2h or 7d, got '{text}'");
            return null;
        }

        var (min, max) = (TimeSpan.FromMinutes(field.MinMinutes), TimeSpan.FromMinutes(field.MaxMinutes));
        if (span < min || span > max)
        {
            _errors.Add(node, path, $"must be between {Words(min)} and {Words(max)}, got {text}");
            return null;
        }

        return span;
    }

    private static string Words(TimeSpan span) =>
        span == TimeSpan.Zero ? "0s"
        : span.Ticks % TimeSpan.TicksPerDay == 0 ? $"{span.TotalDays:0}d"
        : span.Ticks % TimeSpan.TicksPerHour == 0 ? $"{span.TotalHours:0}h"
        : $"{span.TotalMinutes:0}m";

    private enum AlertFieldKind
    {
        Share,
        Multiple,
        Rise,
        Count,
        Span,
    }

    private sealed record AlertField(string Name, AlertFieldKind Kind, int MinMinutes = 0, int MaxMinutes = 0)
    {
        public static AlertField Share(string name) => new(name, AlertFieldKind.Share);

        public static AlertField Multiple(string name) => new(name, AlertFieldKind.Multiple);

        public static AlertField Rise(string name) => new(name, AlertFieldKind.Rise);

        public static AlertField Count(string name) => new(name, AlertFieldKind.Count);

        public static AlertField Span(string name, int minMinutes, int maxMinutes) => new(name, AlertFieldKind.Span, minMinutes, maxMinutes);
    }
}
