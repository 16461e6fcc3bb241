using ControlPlane.Domain.Breakers;
using ControlPlane.Domain.Slo;
using ControlPlane.Service.Grains;

namespace ControlPlane.Service.Admin;

/// <summary>An endpoint with its live state, as the admin API returns it.</summary>
internal sealed record EndpointView(
    string Id,
    string Provider,
    string Model,
    string ModelVersion,
    string Region,
    BreakerView Breaker,
    OverrideView? Override,
    HealthFigures Health,
    QuotaLevels Quota,
    IReadOnlyList<LeaseHolder> Leases,
    IReadOnlyList<BreakerEventView> RecentEvents,
    long Version,
    string Host)
{
    public static EndpointView From(EndpointDetails d, DateTimeOffset now)
    {
        var view = d.View;
        var active = view.Override is { } o && o.IsActive(now) ? o : null;
        return new EndpointView(
            d.Descriptor.Id, d.Descriptor.Provider, d.Descriptor.Model, d.Descriptor.ModelVersion, d.Descriptor.Region,
            new BreakerView(
                AdminNames.Breaker(view.State),
                AdminNames.Reason(view.Reason),
                AdminNames.Breaker(d.AutomaticState),
                view.Degraded,
                view.TrafficFraction,
                d.Trips,
                d.OpenUntil,
                view.RateLimitedUntil is { } until && until > now ? until : null),
            active is null ? null : new OverrideView(AdminNames.Override(active.Kind), active.Actor, active.Reason, active.SetAt, active.ExpiresAt),
            d.Health,
            d.Quota,
            d.Leases,
            [.. d.RecentEvents.Select(BreakerEventView.Of)],
            d.Version,
            d.Host)
        {
            Baseline = new BaselineView(d.Baseline.LatencyP95?.TotalMilliseconds, d.Baseline.TtftP95?.TotalMilliseconds,
                d.Baseline.QualityPassRate, d.Baseline.CostPerSuccess),
            PerOutputTokenMs = d.PerOutputTokenMs,
            Federation = d.Federation,
        };
    }

    /// <summary>The rolling baselines the breaker judges against (null: not trusted yet).</summary>
    public BaselineView? Baseline { get; init; }

    /// <summary>Time per output token used by the adaptive timeout, in ms (null: no samples).</summary>
    public double? PerOutputTokenMs { get; init; }

    /// <summary>Federation (null when off): the home region, whether this region follows it, and changes made here still
    /// pending at the home region ("accepted, pending home region").</summary>
    public Federation.FederationStatus? Federation { get; init; }
}

/// <summary>An endpoint's rolling baselines; null members are not trusted yet.</summary>
internal sealed record BaselineView(double? LatencyP95Ms, double? TtftP95Ms, double? QualityPassRate, double? CostPerSuccess);

/// <summary>Published breaker state (after overrides) and the automatic state underneath.</summary>
internal sealed record BreakerView(string State, string Reason, string AutomaticState, bool Degraded, double TrafficFraction,
    int Trips, DateTimeOffset? OpenUntil, DateTimeOffset? RateLimitedUntil);

/// <summary>An active admin override.</summary>
internal sealed record OverrideView(string Kind, string Actor, string Reason, DateTimeOffset SetAt, DateTimeOffset? ExpiresAt);

/// <summary>One breaker event.</summary>
internal sealed record BreakerEventView(string Kind, string From, string To, string Reason, DateTimeOffset At, string Detail)
{
    public static BreakerEventView Of(BreakerEvent e) =>
        new(e.Kind.ToString(), AdminNames.Breaker(e.From), AdminNames.Breaker(e.To), AdminNames.Reason(e.Reason), e.At, e.Detail);
}

/// <summary>A workload class with its policy, SLO state and budget (quota levels and the nodes holding slices).</summary>
internal sealed record ClassView(
    string Name,
    string Mode,
    string Priority,
    int Weight,
    IReadOnlyList<string> Primary,
    IReadOnlyList<FallbackView> Fallbacks,
    IReadOnlyList<string> Prohibited,
    BudgetView Availability,
    BudgetView Quality,
    double FallbackRate5m,
    IReadOnlyList<AlertView> Alerts,
    string? PolicyChangedBy,
    QuotaLevels Budget,
    IReadOnlyList<LeaseHolder> BudgetLeases,
    long Version,
    string Host,
    SpendLevels? Spend = null)
{
    /// <summary>The latency SLO's budget (served requests slower than <see cref="LatencyThresholdMs"/> are bad); null
    /// when the class has no latency objective.</summary>
    public BudgetView? Latency { get; init; }

    /// <summary>The class's latency objective (<c>slo.latency_p95_ms</c>), if any.</summary>
    public double? LatencyThresholdMs { get; init; }

    /// <summary>Requests that succeeded after an earlier attempt failed (counted once, as available), since the class
    /// grain's activation.</summary>
    public long ServedByFallback { get; init; }

    /// <summary>The approved policy's version (1: the fleet file's); see <c>GET /classes/{name}/policy/history</c>.</summary>
    public long PolicyVersion { get; init; } = 1;

    /// <summary>The active break-glass (its mode is <see cref="Mode"/> meanwhile), if any.</summary>
    public Governance.ActiveBreakGlassView? BreakGlass { get; init; }

    public static ClassView From(ClassDetails d) => new(
        d.Policy.Name,
        AdminNames.Mode(d.Policy.Mode),
        d.Policy.Priority.ToString().ToLowerInvariant(),
        d.Policy.Weight,
        d.Policy.Primary,
        [.. d.Policy.Fallbacks.Select(f => new FallbackView(f.EndpointId, f.EvalScore))],
        d.Policy.Prohibited,
        BudgetView.From(d.Availability),
        BudgetView.From(d.Quality),
        d.FallbackRate5m,
        [.. d.Alerts.Select(a => new AlertView(a.Name, a.Severity.ToString().ToLowerInvariant(), a.Value, a.Threshold, a.Window, a.At))],
        d.PolicyChangedBy,
        d.Budget,
        d.BudgetLeases,
        d.Version,
        d.Host,
        d.Spend)
    {
        Latency = d.LatencyThreshold is not null && d.Latency is { } latency ? BudgetView.From(latency) : null,
        LatencyThresholdMs = d.LatencyThreshold?.TotalMilliseconds,
        ServedByFallback = d.ServedByFallback,
        PolicyVersion = d.PolicyVersion,
        BreakGlass = Governance.ActiveBreakGlassView.From(d.BreakGlass),
        Federation = d.Federation,
    };

    /// <summary>Federation (null when off): the policy-home region, whether this region follows it, and policy changes
    /// made here still pending at the policy home ("accepted, pending policy home").</summary>
    public Federation.ClassFederationStatus? Federation { get; init; }
}

/// <summary>An approved fallback.</summary>
internal sealed record FallbackView(string EndpointId, double? EvalScore);

/// <summary>An error budget.</summary>
internal sealed record BudgetView(double Target, long Events, long BadEvents, double Consumed, double Remaining)
{
    public static BudgetView From(ErrorBudget b) => new(b.Target, b.Events, b.BadEvents, b.Consumed, b.Remaining);
}

/// <summary>A firing alert.</summary>
internal sealed record AlertView(string Name, string Severity, double Value, double Threshold, TimeSpan Window, DateTimeOffset At);

/// <summary>The fleet with live state.</summary>
internal sealed record FleetView(string? Name, string? Version, string Source, DateTimeOffset LoadedAt, IReadOnlyList<string> Deprecations,
    IReadOnlyList<EndpointView> Endpoints, IReadOnlyList<ClassView> Classes)
{
    /// <summary>Catalog alerts routed to endpoint owners: <c>deprecation</c> notices and unacknowledged <c>model-change</c>s.</summary>
    public IReadOnlyList<Catalog.CatalogAlertView> Alerts { get; init; } = [];
}

/// <summary>A breaker command: <c>{"state":"open"|"closed"|"auto","reason":"...","ttlSeconds":N}</c>.</summary>
internal sealed record BreakerCommand(string State, string Reason, long? TtlSeconds);

/// <summary>A drain command: <c>{"reason":"...","ttlSeconds":N}</c>.</summary>
internal sealed record DrainCommand(string Reason, long? TtlSeconds);

/// <summary>A change to a workload class's fallback policy; a null member keeps the current value.</summary>
/// <param name="Mode">auto_fallback, queue_only or fail.</param>
/// <param name="Primary">The primary endpoints, in preference order.</param>
/// <param name="Fallbacks">The approved fallbacks, in order; a null eval score keeps the score of an endpoint
/// already approved.</param>
/// <param name="Prohibited">Endpoints this class must never use.</param>
/// <param name="Reason">Why (required, audited).</param>
/// <param name="ExpectedVersion">Apply only if the class is still at this version (else 409); null: the version read just before.</param>
internal sealed record PolicyCommand(string? Mode, IReadOnlyList<string>? Primary, IReadOnlyList<FallbackView>? Fallbacks,
    IReadOnlyList<string>? Prohibited, string Reason, long? ExpectedVersion = null);
