using System.Globalization;
using ControlPlane.Domain.Endpoints;
using ControlPlane.Domain.Slo;
using ControlPlane.Fleet;
using ControlPlane.Service.Grains;
using Wire = ControlPlane.Contracts.V1;

namespace ControlPlane.Service.Alerting;

/// <summary>The alert rules a class grain evaluates (docs/alerts.md): <c>workflow-failure-rate</c>,
/// <c>quality-slo-burn</c>, <c>fallback-activation</c>, <c>cost-per-success</c> (against its own multi-day baseline) and
/// <c>primary-rate-limit-trend</c>, over minute buckets (six hours) and hour buckets (seventeen days) of its own,
/// persisted with the class's state; plus the class's SLO burn-rate and spend alerts, which join the same state
/// machine under their own names.</summary>
internal sealed class ClassAlertRules
{
    /// <summary>Events a share needs before it is judged.</summary>
    public const int MinEvents = 20;

    /// <summary>The span the fallback share is measured over at each evaluation (it must then hold for the rule's
    /// <c>for</c> duration).</summary>
    public static readonly TimeSpan FallbackWindow = TimeSpan.FromMinutes(5);

    /// <summary>The rise of the newer half's 429 share over the older half's that counts as a trend (relative).</summary>
    public const double TrendRise = 0.5;

    /// <summary>The newer half's 429 share below which no trend is reported.</summary>
    public const double TrendFloor = 0.01;

    private const int TotalIx = 0;
    private const int FallbackIx = 1;
    private const int PrimaryIx = 2;
    private const int PrimaryLimitedIx = 3;
    private const int SuccessIx = 4;
    private const int CostMicrosIx = 5;
    private const int CompletedIx = 6;
    private const int FailedIx = 7;
    private const int PassIx = 8;
    private const int QualityFailIx = 9;
    private const int Fields = 10;
    private static readonly TimeSpan MinutePrecision = TimeSpan.FromHours(6);

    private readonly BucketedCounts _minutes = new(TimeSpan.FromMinutes(1), 6 * 60 + 1, Fields);
    private readonly BucketedCounts _hours = new(TimeSpan.FromHours(1), 17 * 24 + 1, Fields);

    /// <summary>Counts one outcome of the class.</summary>
    public void Record(OutcomeRecord outcome)
    {
        Span<long> deltas = stackalloc long[Fields];
        var sample = outcome.Sample;
        deltas[TotalIx] = 1;
        deltas[FallbackIx] = outcome.Fallback ? 1 : 0;
        deltas[PrimaryIx] = outcome.Fallback ? 0 : 1;
        deltas[PrimaryLimitedIx] = !outcome.Fallback && sample.Status == OutcomeStatus.RateLimited ? 1 : 0;
        deltas[SuccessIx] = sample.Status == OutcomeStatus.Success ? 1 : 0;
        deltas[CostMicrosIx] = (long)Math.Clamp(sample.Cost * 1_000_000, 0, 1e15);
        deltas[CompletedIx] = outcome.WorkflowVerdict == Wire.WorkflowVerdict.Completed ? 1 : 0;
        deltas[FailedIx] = outcome.WorkflowVerdict == Wire.WorkflowVerdict.Failed ? 1 : 0;
        deltas[PassIx] = sample.Quality == QualityVerdict.Pass ? 1 : 0;
        deltas[QualityFailIx] = sample.Quality == QualityVerdict.Fail ? 1 : 0;
        _minutes.Add(sample.At, deltas);
        _hours.Add(sample.At, deltas);
    }

    /// <summary>The counts to persist.</summary>
    public byte[] Export()
    {
        var output = new List<byte>(256);
        _minutes.Export(output);
        _hours.Export(output);
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
        return _minutes.Import(ref input) && _hours.Import(ref input);
    }

    /// <summary>Who the class's alerts go to: its owner.</summary>
    public static AlertTarget Target(WorkloadClassDefinition definition) =>
        new(AlertTargetKind.WorkloadClass, definition.Name, [definition.Name], definition.Owner, "");

    /// <summary>Every condition that holds at <paramref name="now"/>, including <paramref name="existing"/> (the SLO
    /// burn-rate and spend alerts firing now).</summary>
    public IReadOnlyList<AlertCondition> Evaluate(DateTimeOffset now, WorkloadClassDefinition definition, IEnumerable<HealthAlert> existing)
    {
        var conditions = new List<AlertCondition>();
        var name = definition.Name;
        var t = definition.Alerts;
        Span<long> totals = stackalloc long[Fields];
        Span<long> older = stackalloc long[Fields];

        // Workflow failures among outcomes that carry a workflow verdict.
        {
            var span = t.WorkflowFailureRate.Window ?? TimeSpan.FromMinutes(10);
            var threshold = t.WorkflowFailureRate.Threshold ?? 0.01;
            Ring(span).Sum(now, span, totals);
            var verdicts = totals[CompletedIx] + totals[FailedIx];
            var rate = verdicts == 0 ? 0 : (double)totals[FailedIx] / verdicts;
            if (verdicts >= MinEvents && rate > threshold)
            {
                conditions.Add(new AlertCondition("workflow-failure-rate", AlertKind.Tactical, AlertSeverity.Page, rate, threshold, span, TimeSpan.Zero,
                    $"class {name}: {EndpointAlertRules.Percent(rate)} of workflows failed over {EndpointAlertRules.Words(span)} (threshold {EndpointAlertRules.Percent(threshold)})"));
            }
        }

        // Quality budget burned within the window: burn rate above share x period / window.
        if (definition.Slo.Quality is { } target)
        {
            var span = t.QualitySloBurn.Window ?? TimeSpan.FromHours(1);
            var share = t.QualitySloBurn.BudgetShare ?? 0.05;
            Ring(span).Sum(now, span, totals);
            var verdicts = totals[PassIx] + totals[QualityFailIx];
            var burn = verdicts == 0 ? 0 : (double)totals[QualityFailIx] / verdicts / (1 - target);
            var limit = share * (definition.Slo.Window / span);
            if (verdicts >= MinEvents && burn > limit)
            {
                var burned = burn * (span / definition.Slo.Window);
                conditions.Add(new AlertCondition("quality-slo-burn", AlertKind.Tactical, AlertSeverity.Page, burned, share, span, TimeSpan.Zero,
                    $"class {name}: {EndpointAlertRules.Percent(burned)} of the quality error budget burned in {EndpointAlertRules.Words(span)} (threshold {EndpointAlertRules.Percent(share)})"));
            }
        }

        // Fallback share, sustained.
        {
            var threshold = t.FallbackActivation.Threshold ?? 0.10;
            var hold = t.FallbackActivation.For ?? TimeSpan.FromMinutes(30);
            _minutes.Sum(now, FallbackWindow, totals);
            var rate = totals[TotalIx] == 0 ? 0 : (double)totals[FallbackIx] / totals[TotalIx];
            if (totals[TotalIx] >= MinEvents && rate > threshold)
            {
                conditions.Add(new AlertCondition("fallback-activation", AlertKind.Strategic, AlertSeverity.Ticket, rate, threshold, hold, hold,
                    $"class {name}: {EndpointAlertRules.Percent(rate)} of outcomes served by a fallback (threshold {EndpointAlertRules.Percent(threshold)}, sustained {EndpointAlertRules.Words(hold)})"));
            }
        }

        // Cost per success over the current and the previous hour bucket against the baseline before them, sustained.
        {
            var increase = t.CostPerSuccess.Increase ?? 0.20;
            var hold = t.CostPerSuccess.For ?? TimeSpan.FromHours(2);
            var baseline = t.CostPerSuccess.Baseline ?? TimeSpan.FromDays(7);
            var hour = TimeSpan.FromHours(2);
            _hours.Sum(now, hour, totals);
            _hours.Sum(now, baseline + hour, older);
            long recentSuccesses = totals[SuccessIx], baseSuccesses = older[SuccessIx] - recentSuccesses;
            if (recentSuccesses >= MinEvents && baseSuccesses >= MinEvents)
            {
                var recent = (double)totals[CostMicrosIx] / recentSuccesses;
                var before = (double)(older[CostMicrosIx] - totals[CostMicrosIx]) / baseSuccesses;
                if (before > 0 && recent > before * (1 + increase))
                {
                    conditions.Add(new AlertCondition("cost-per-success", AlertKind.Strategic, AlertSeverity.Ticket, (recent / before) - 1, increase, baseline, hold,
                        $"class {name}: cost per successful request {(recent / 1e6).ToString("0.######", CultureInfo.InvariantCulture)} USD is {EndpointAlertRules.Percent((recent / before) - 1)} above its {EndpointAlertRules.Words(baseline)} baseline (threshold {EndpointAlertRules.Percent(increase)})"));
                }
            }
        }

        // The primaries' 429 share: the newer half of the window against the older half.
        {
            var span = t.PrimaryRateLimitTrend.Window ?? TimeSpan.FromHours(24);
            var half = span / 2;
            _hours.Sum(now, half, totals);
            _hours.Sum(now, span, older);
            long recentPrimary = totals[PrimaryIx], olderPrimary = older[PrimaryIx] - recentPrimary;
            if (recentPrimary >= MinEvents && olderPrimary >= MinEvents)
            {
                var recent = (double)totals[PrimaryLimitedIx] / recentPrimary;
                var before = (double)(older[PrimaryLimitedIx] - totals[PrimaryLimitedIx]) / olderPrimary;
                if (recent > TrendFloor && recent > before * (1 + TrendRise))
                {
                    conditions.Add(new AlertCondition("primary-rate-limit-trend", AlertKind.Strategic, AlertSeverity.Ticket, recent, before, span, TimeSpan.Zero,
                        $"class {name}: the primaries' 429 share rose to {EndpointAlertRules.Percent(recent)} over the last {EndpointAlertRules.Words(half)} from {EndpointAlertRules.Percent(before)} the {EndpointAlertRules.Words(half)} before"));
                }
            }
        }

        foreach (var alert in existing)
        {
            conditions.Add(new AlertCondition(alert.Name, alert.Severity == AlertSeverity.Ticket ? AlertKind.Strategic : AlertKind.Tactical, alert.Severity,
                alert.Value, alert.Threshold, alert.Window, TimeSpan.Zero,
                $"class {name}: {alert.Name} at {alert.Value.ToString("0.###", CultureInfo.InvariantCulture)} (threshold {alert.Threshold.ToString("0.###", CultureInfo.InvariantCulture)})"));
        }

        return conditions;
    }

    private BucketedCounts Ring(TimeSpan span) => span <= MinutePrecision ? _minutes : _hours;
}
