using System.Globalization;
using ControlPlane.Domain.Endpoints;
using ControlPlane.Domain.Health;
using ControlPlane.Domain.Quotas;
using ControlPlane.Domain.Slo;
using ControlPlane.Fleet;
using ControlPlane.Service.Catalog;
using ControlPlane.Service.Grains;

namespace ControlPlane.Service.Alerting;

/// <summary>The alert rules an endpoint grain evaluates (docs/alerts.md): <c>provider-error-rate</c> (critical
/// escalation), <c>provider-latency-p95</c>, <c>provider-rate-limited</c>, <c>provider-output-length</c>, <c>fallback-quality-decline</c>,
/// <c>deprecation-notice</c> and <c>model-version-change</c>. The short windows read the endpoint's health window; the
/// fallback quality trend keeps daily buckets of its own (persisted with the grain's state).</summary>
internal sealed partial class EndpointAlertRules
{
    /// <summary>Latency samples a latency check needs.</summary>
    public const int MinLatencySamples = 20;

    /// <summary>Quality verdicts each side of the quality trend needs.</summary>
    public const int MinVerdicts = 20;

    /// <summary>The span the p95 of each latency check is read over.</summary>
    public static readonly TimeSpan LatencyWindow = TimeSpan.FromMinutes(1);

    /// <summary>Days before a deprecation date the deprecation alert fires.</summary>
    public const int DeprecationDays = 90;

    private const int PassIx = 0;
    private const int FailIx = 1;
    private readonly BucketedCounts _fallbackQuality = new(TimeSpan.FromDays(1), 32, 2);

    /// <summary>Counts the quality verdict of an outcome served by this endpoint as a fallback.</summary>
    public void Record(OutcomeRecord outcome)
    {
        if (!outcome.Fallback || outcome.Sample.Quality == QualityVerdict.None)
        {
            return;
        }

        Span<long> deltas = stackalloc long[2];
        deltas[outcome.Sample.Quality == QualityVerdict.Pass ? PassIx : FailIx] = 1;
        _fallbackQuality.Add(outcome.Sample.At, deltas);
    }

    /// <summary>The counts to persist.</summary>
    public byte[] Export()
    {
        var output = new List<byte>(64);
        _fallbackQuality.Export(output);
        return [.. output];
    }

    /// <summary>Restores <see cref="Export"/>'s counts; false when malformed.</summary>
    public bool Restore(byte[]? counts)
    {
        if (counts is null)
        {
            return true;
        }

        ReadOnlySpan<byte> input = counts;
        return _fallbackQuality.Import(ref input);
    }

    /// <summary>Who the endpoint's alerts go to: its owner, routed by every class that uses it (primary or fallback).</summary>
    public static AlertTarget Target(EndpointCatalogEntry entry, FleetDefinition fleet) =>
        new(AlertTargetKind.Endpoint, entry.Id, [.. Users(entry.Id, fleet).Select(c => c.Name)], entry.OwnerTeam, entry.OnCall);

    /// <summary>Every condition that holds at <paramref name="now"/>.</summary>
    public IReadOnlyList<AlertCondition> Evaluate(DateTimeOffset now, EndpointCatalogEntry entry, FleetDefinition fleet, HealthTrack track,
        ModelChangeRecord? modelChange)
    {
        var conditions = new List<AlertCondition>();
        var users = Users(entry.Id, fleet);
        var own = entry.AlertOverrides;
        var resolved = entry.Alerts;
        var window = track.Window;
        var minRequests = resolved.ProviderErrorRate.MinRequests ?? 20;

        // Error rate, when a production class uses the endpoint; the strictest class threshold applies.
        var production = users.Where(c => c.Production).ToList();
        if (production.Count > 0)
        {
            var threshold = Strictest(own.ProviderErrorRate.Threshold, resolved.ProviderErrorRate.Threshold, production, a => a.ProviderErrorRate.Threshold);
            var critical = Strictest(own.ProviderErrorRate.Critical, resolved.ProviderErrorRate.Critical, production, a => a.ProviderErrorRate.Critical);
            var span = Clamp(resolved.ProviderErrorRate.Window, window.Duration);
            var errors = window.Snapshot(now, span);
            if (errors.Served >= minRequests && errors.ErrorRate > threshold)
            {
                var escalated = errors.ErrorRate > critical;
                conditions.Add(new AlertCondition("provider-error-rate", AlertKind.Tactical, escalated ? AlertSeverity.Critical : AlertSeverity.Page,
                    errors.ErrorRate, escalated ? critical : threshold, span, TimeSpan.Zero,
                    $"endpoint {entry.Id}: error rate {Percent(errors.ErrorRate)} over {Words(span)} (threshold {Percent(threshold)}{(escalated ? $", critical above {Percent(critical)}" : "")})"));
            }
        }

        // p95 against the baseline, sustained, when an interactive class uses the endpoint.
        var interactive = users.Where(c => c.Policy.Priority == WorkloadPriority.Interactive).ToList();
        if (interactive.Count > 0 && track.Baseline.Current.LatencyP95 is { } baseline && baseline > TimeSpan.Zero)
        {
            var factor = Strictest(own.ProviderLatencyP95.Factor, resolved.ProviderLatencyP95.Factor, interactive, a => a.ProviderLatencyP95.Factor);
            var latency = window.Snapshot(now, Clamp(LatencyWindow, window.Duration));
            if (latency.LatencySamples >= MinLatencySamples && latency.LatencyP95 is { } p95 && p95 / baseline > factor)
            {
                var hold = resolved.ProviderLatencyP95.For ?? TimeSpan.FromMinutes(3);
                conditions.Add(new AlertCondition("provider-latency-p95", AlertKind.Tactical, AlertSeverity.Page, p95 / baseline, factor, hold, hold,
                    $"endpoint {entry.Id}: p95 {p95.TotalMilliseconds:0} ms is {(p95 / baseline).ToString("0.0", CultureInfo.InvariantCulture)}x its baseline {baseline.TotalMilliseconds:0} ms (threshold {factor.ToString("0.0#", CultureInfo.InvariantCulture)}x)"));
            }
        }

        // 429 share.
        {
            var threshold = Strictest(own.ProviderRateLimited.Threshold, resolved.ProviderRateLimited.Threshold, users, a => a.ProviderRateLimited.Threshold);
            var span = Clamp(resolved.ProviderRateLimited.Window, window.Duration);
            var limited = window.Snapshot(now, span);
            if (limited.Requests >= minRequests && limited.RateLimitedRate > threshold)
            {
                conditions.Add(new AlertCondition("provider-rate-limited", AlertKind.Tactical, AlertSeverity.Page, limited.RateLimitedRate, threshold, span,
                    TimeSpan.Zero, $"endpoint {entry.Id}: {Percent(limited.RateLimitedRate)} of requests rate-limited (429) over {Words(span)} (threshold {Percent(threshold)})"));
            }
        }

        EvaluateOutputLength(now, entry, window, conditions);

        // A fallback's quality pass rate: the newest day against the rest of the window.
        if (users.Any(c => c.Policy.Fallbacks.Any(f => f.EndpointId == entry.Id)))
        {
            var span = resolved.FallbackQualityDecline.Window ?? TimeSpan.FromDays(7);
            var drop = resolved.FallbackQualityDecline.Drop ?? 0.05;
            Span<long> all = stackalloc long[2];
            Span<long> recent = stackalloc long[2];
            _fallbackQuality.Sum(now, span, all);
            _fallbackQuality.Sum(now, TimeSpan.FromDays(1), recent);
            long earlierPass = all[PassIx] - recent[PassIx], earlierFail = all[FailIx] - recent[FailIx];
            long recentVerdicts = recent[PassIx] + recent[FailIx], earlierVerdicts = earlierPass + earlierFail;
            if (recentVerdicts >= MinVerdicts && earlierVerdicts >= MinVerdicts)
            {
                var before = (double)earlierPass / earlierVerdicts;
                var now1 = (double)recent[PassIx] / recentVerdicts;
                if (before > 0 && now1 < before * (1 - drop))
                {
                    conditions.Add(new AlertCondition("fallback-quality-decline", AlertKind.Strategic, AlertSeverity.Ticket, 1 - (now1 / before), drop, span,
                        TimeSpan.Zero, $"fallback endpoint {entry.Id}: quality pass rate {Percent(now1)} today against {Percent(before)} before (drop threshold {Percent(drop)})"));
                }
            }
        }

        if (entry.Deprecation is { } deprecation)
        {
            var days = deprecation.Date.DayNumber - DateOnly.FromDateTime(now.UtcDateTime).DayNumber;
            if (days <= DeprecationDays)
            {
                conditions.Add(new AlertCondition("deprecation-notice", AlertKind.Strategic, AlertSeverity.Ticket, days, DeprecationDays, TimeSpan.FromDays(DeprecationDays),
                    TimeSpan.Zero, days >= 0
                        ? $"endpoint {entry.Id}: {entry.Descriptor.ModelVersion} is retired on {deprecation.Date:yyyy-MM-dd} ({days} days){(deprecation.MigrateTo is { } to ? $"; migrate to {to}" : "")}"
                        : $"endpoint {entry.Id}: {entry.Descriptor.ModelVersion} was retired on {deprecation.Date:yyyy-MM-dd}"));
            }
        }

        if (modelChange is { Acknowledged: false } change)
        {
            conditions.Add(new AlertCondition("model-version-change", AlertKind.Strategic, AlertSeverity.Ticket, 1, 0, TimeSpan.Zero, TimeSpan.Zero,
                $"endpoint {entry.Id}: outcomes report model version {change.Observed} instead of the pinned {change.Pinned} (since {change.FirstSeen:O})"));
        }

        return conditions;
    }

    private static List<WorkloadClassDefinition> Users(string endpointId, FleetDefinition fleet) =>
        [.. fleet.Classes.Where(c => c.Policy.Primary.Contains(endpointId) || c.Policy.Fallbacks.Any(f => f.EndpointId == endpointId))];

    // The endpoint's own value, else the strictest (lowest) of the fleet's and the qualifying classes' values.
    private static double Strictest(double? own, double? fleet, IEnumerable<WorkloadClassDefinition> classes, Func<AlertThresholds, double?> pick)
    {
        if (own is { } value)
        {
            return value;
        }

        var result = fleet ?? double.MaxValue;
        foreach (var c in classes)
        {
            if (pick(c.Alerts) is { } v && v < result)
            {
                result = v;
            }
        }

        return result;
    }

    private static TimeSpan Clamp(TimeSpan? span, TimeSpan max) => span is { } s && s < max ? s : max;

    internal static string Percent(double share) => (share * 100).ToString("0.##", CultureInfo.InvariantCulture) + " %";

    internal static string Words(TimeSpan span) =>
        span.Ticks % TimeSpan.TicksPerDay == 0 ? $"{span.TotalDays:0}d"
        : span.Ticks % TimeSpan.TicksPerHour == 0 ? $"{span.TotalHours:0}h"
        : span.Ticks % TimeSpan.TicksPerMinute == 0 ? $"{span.TotalMinutes:0}m"
        : $"{span.TotalSeconds:0}s";
}
