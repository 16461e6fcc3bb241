using ControlPlane.Service.Admin;

namespace ControlPlane.Service.Dashboard;

/// <summary>What the dashboard shows at one moment (<c>GET /admin/v1/dashboard/snapshot</c> and each <c>snapshot</c>
/// event of the stream): built from the admin views, never from raw client input.</summary>
/// <param name="At">When it was built (the node's clock).</param>
/// <param name="Node">The node that built it.</param>
/// <param name="FleetName">The fleet file's name, if any.</param>
/// <param name="FleetVersion">The fleet file's version, if any.</param>
/// <param name="Endpoints">The fleet grid: one row per endpoint, in fleet order.</param>
/// <param name="Classes">One card per workload class, in fleet order.</param>
/// <param name="Alerts">The firing alerts, as their owning grains decided them (<c>GET /admin/v1/alerts?state=firing</c>).</param>
/// <param name="Audit">The latest audit entries, newest first.</param>
internal sealed record DashboardSnapshot(
    DateTimeOffset At,
    string Node,
    string? FleetName,
    string? FleetVersion,
    IReadOnlyList<DashboardEndpointRow> Endpoints,
    IReadOnlyList<DashboardClassCard> Classes,
    IReadOnlyList<DashboardAlert> Alerts,
    IReadOnlyList<DashboardAuditEntry> Audit);

/// <summary>One row of the fleet grid.</summary>
/// <param name="Id">Endpoint id.</param>
/// <param name="Provider">Provider name.</param>
/// <param name="Model">Pinned model.</param>
/// <param name="Region">Region label.</param>
/// <param name="State">The breaker state as the telemetry names it: an active override's (forced_open, forced_closed, draining), else the published state (closed, open, half_open).</param>
/// <param name="Reason">Why the breaker is in that state.</param>
/// <param name="AutomaticState">The automatic breaker state underneath an override.</param>
/// <param name="Override">The active admin override, if any.</param>
/// <param name="Degraded">True when the endpoint takes reduced traffic.</param>
/// <param name="Requests">Requests in the health window.</param>
/// <param name="ErrorRate">Failure share in the health window (0..1).</param>
/// <param name="RateLimited">429s in the health window.</param>
/// <param name="LatencyP95Ms">p95 latency in the window (null: no samples).</param>
/// <param name="BaselineLatencyP95Ms">The rolling p95 baseline (null: not trusted yet).</param>
/// <param name="BaselineTtftP95Ms">The rolling time-to-first-token p95 baseline (null: not trusted yet).</param>
/// <param name="TokenUse">Share of the tokens-per-minute limit in use (0..1; null: unlimited).</param>
/// <param name="RequestUse">Share of the requests-per-minute limit in use (0..1; null: unlimited).</param>
/// <param name="Deprecation">The deprecation notice's message, if the endpoint is deprecated.</param>
internal sealed record DashboardEndpointRow(
    string Id,
    string Provider,
    string Model,
    string Region,
    string State,
    string Reason,
    string AutomaticState,
    OverrideView? Override,
    bool Degraded,
    long Requests,
    double ErrorRate,
    long RateLimited,
    double? LatencyP95Ms,
    double? BaselineLatencyP95Ms,
    double? BaselineTtftP95Ms,
    double? TokenUse,
    double? RequestUse,
    string? Deprecation);

/// <summary>One workload class card.</summary>
/// <param name="Name">Class name.</param>
/// <param name="Mode">auto_fallback, queue_only or fail.</param>
/// <param name="Priority">The class's priority.</param>
/// <param name="Availability">Availability against its SLO.</param>
/// <param name="Quality">Quality against its SLO.</param>
/// <param name="Latency">Latency against its SLO (null: no latency objective).</param>
/// <param name="FallbackRate5m">Share of requests served by a fallback over 5 minutes (0..1).</param>
/// <param name="ServedByFallback">Requests that succeeded after an earlier attempt failed, since the class grain's activation.</param>
/// <param name="CostPerSuccessUsd">Month-to-date spend per successful request (null: no spend ceiling or no success yet).</param>
/// <param name="AlertCount">Firing alerts of the class.</param>
/// <param name="BreakGlass">True while a break-glass is active.</param>
internal sealed record DashboardClassCard(
    string Name,
    string Mode,
    string Priority,
    DashboardSlo Availability,
    DashboardSlo Quality,
    DashboardSlo? Latency,
    double FallbackRate5m,
    long ServedByFallback,
    double? CostPerSuccessUsd,
    int AlertCount,
    bool BreakGlass);

/// <summary>An SLO against its target.</summary>
/// <param name="Target">The objective (e.g. 0.999).</param>
/// <param name="Attained">Good events share (1 without events).</param>
/// <param name="BudgetRemaining">Remaining error budget (1 = untouched; negative = overspent).</param>
/// <param name="BurnRate">Bad-event share over the allowed share (1 = spending the budget exactly at the period's pace).</param>
/// <param name="Events">Events counted.</param>
internal sealed record DashboardSlo(double Target, double Attained, double BudgetRemaining, double BurnRate, long Events)
{
    public static DashboardSlo From(BudgetView b) => new(b.Target, b.Events == 0 ? 1 : 1 - ((double)b.BadEvents / b.Events), b.Remaining,
        b.Events == 0 || b.Target >= 1 ? 0 : (double)b.BadEvents / b.Events / (1 - b.Target), b.Events);
}

/// <summary>A firing alert.</summary>
/// <param name="Rule">The alert's name (e.g. burn-rate, deprecation, model-change).</param>
/// <param name="Severity">ticket, page or critical (or the catalog's severity word).</param>
/// <param name="TargetKind">endpoint or class.</param>
/// <param name="TargetId">The endpoint id or class name.</param>
/// <param name="Summary">What it says.</param>
/// <param name="Since">When it started, if known.</param>
internal sealed record DashboardAlert(string Rule, string Severity, string TargetKind, string TargetId, string Summary, DateTimeOffset? Since);

/// <summary>An audit entry as the feed shows it.</summary>
/// <param name="Sequence">The entry's sequence.</param>
/// <param name="At">When.</param>
/// <param name="Actor">Who (principal).</param>
/// <param name="Action">What (e.g. breaker.force_open).</param>
/// <param name="Target">On what.</param>
/// <param name="Reason">Why.</param>
internal sealed record DashboardAuditEntry(long Sequence, DateTimeOffset At, string Actor, string Action, string Target, string Reason);

/// <summary>The charts' data: samples of the last minutes, oldest first.</summary>
/// <param name="IntervalSeconds">Seconds between samples.</param>
/// <param name="Samples">The samples.</param>
internal sealed record DashboardHistory(double IntervalSeconds, IReadOnlyList<DashboardSample> Samples);

/// <summary>The figures of one sample.</summary>
/// <param name="At">When the sample was taken.</param>
/// <param name="Endpoints">One point per charted endpoint, in fleet order.</param>
internal sealed record DashboardSample(DateTimeOffset At, IReadOnlyList<DashboardPoint> Endpoints);

/// <summary>One endpoint's figures in a sample.</summary>
/// <param name="Id">Endpoint id.</param>
/// <param name="Requests">Requests in the endpoint's health window.</param>
/// <param name="ErrorRate">Error rate (0..1).</param>
/// <param name="LatencyP95Ms">p95 latency (null: no samples).</param>
internal sealed record DashboardPoint(string Id, long Requests, double ErrorRate, double? LatencyP95Ms);
