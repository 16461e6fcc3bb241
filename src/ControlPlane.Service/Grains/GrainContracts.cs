using ControlPlane.Domain.Breakers;
using ControlPlane.Domain.Endpoints;
using ControlPlane.Domain.Health;
using ControlPlane.Domain.Policy;
using ControlPlane.Domain.Quotas;
using ControlPlane.Domain.Routing;
using ControlPlane.Domain.Slo;
using ControlPlane.Grains;

namespace ControlPlane.Service.Grains;

// Grain and observer interfaces are public because the runtime's DispatchProxy implements them at run time.

/// <summary>One provider endpoint, keyed by endpoint id: live health windows and breaker, admin overrides,
/// the quota lease ledger carved from its TPM/RPM limits.</summary>
public interface IProviderEndpointGrain : IGrainWithStringKey
{
    /// <summary>Folds a batch of attempt outcomes into the health windows and breakers.</summary>
    Task RecordOutcomesAsync(IReadOnlyList<OutcomeRecord> outcomes);

    /// <summary>Sets an admin override (force open/closed, drain); persisted and pushed to every node.</summary>
    Task<EndpointDetails> SetOverrideAsync(OverrideKind kind, string actor, string reason, TimeSpan? ttl);

    /// <summary>Clears the admin override (back to the automatic breaker); false when there was none.</summary>
    Task<EndpointDetails> ClearOverrideAsync(string actor, string reason);

    /// <summary>Everything the admin API shows about the endpoint.</summary>
    [ReadOnly]
    Task<EndpointDetails> GetDetailsAsync();

    /// <summary>Subscribes (or renews) an observer and returns the current routing status.</summary>
    Task<EndpointStatus> SubscribeAsync(IRoutingObserver observer);

    /// <summary>Grants <paramref name="nodeId"/> a slice of the endpoint's quota; null when the bucket is empty
    /// or the endpoint is not limited.</summary>
    Task<QuotaLease?> GrantLeaseAsync(string nodeId, long tokens, long requests);

    /// <summary>Returns a lease's unused units and its carried reconciliation.</summary>
    Task SettleLeaseAsync(LeaseSettlement settlement);
}

/// <summary>One workload class, keyed by class name: policy (fallback approval matrix), SLO and error budget, alerts.</summary>
public interface IWorkloadClassGrain : IGrainWithStringKey
{
    /// <summary>Records final request outcomes into the SLO rings.</summary>
    Task RecordOutcomesAsync(IReadOnlyList<OutcomeRecord> outcomes);

    /// <summary>Replaces the class policy (validated against the catalog); persisted, audited by the caller, pushed.</summary>
    Task<ClassDetails> SetPolicyAsync(WorkloadClassPolicy policy, string actor, string reason);

    /// <summary>Policy, budgets and alerts.</summary>
    [ReadOnly]
    Task<ClassDetails> GetDetailsAsync();

    /// <summary>Subscribes (or renews) an observer and returns the current policy.</summary>
    Task<ClassStatus> SubscribeAsync(IRoutingObserver observer);

    /// <summary>Grants <paramref name="nodeId"/> a slice of the class's budget; null when the budget is spent or
    /// the class has none.</summary>
    Task<QuotaLease?> GrantLeaseAsync(string nodeId, long tokens, long requests);

    /// <summary>Returns a budget lease's unused units and its carried reconciliation.</summary>
    Task SettleLeaseAsync(LeaseSettlement settlement);
}

/// <summary>The fleet catalog (key <see cref="FleetGrain.Key"/>): which endpoints and classes exist, from which
/// configuration version, and when it was loaded.</summary>
public interface IFleetGrain : IGrainWithStringKey
{
    /// <summary>The catalog as persisted.</summary>
    [ReadOnly]
    Task<FleetSummary> GetSummaryAsync();
}

/// <summary>The audit trail (key <see cref="Audit.AuditTrailGrain.Key"/>): every admin change, persisted.</summary>
public interface IAuditTrailGrain : IGrainWithStringKey
{
    /// <summary>Appends an entry and returns it with its sequence number.</summary>
    Task<AuditEntry> AppendAsync(AuditEntry entry);

    /// <summary>The newest <paramref name="limit"/> entries, newest first.</summary>
    [ReadOnly]
    Task<IReadOnlyList<AuditEntry>> ListAsync(int limit);
}

/// <summary>A node's view of the grains: every routing-relevant change is pushed here.</summary>
public interface IRoutingObserver : IGrainObserver
{
    /// <summary>An endpoint's breaker, override or load changed.</summary>
    Task OnEndpointChangedAsync(EndpointStatus status);

    /// <summary>A workload class's policy changed.</summary>
    Task OnClassChangedAsync(ClassStatus status);
}

/// <summary>One attempt outcome as a node reports it to the grains.</summary>
/// <param name="EndpointId">The endpoint that served (or failed) the attempt.</param>
/// <param name="WorkloadClass">The attempt's workload class.</param>
/// <param name="Sample">What happened.</param>
/// <param name="Fallback">True when the endpoint is not one of the class's primaries.</param>
public sealed record OutcomeRecord(string EndpointId, string WorkloadClass, OutcomeSample Sample, bool Fallback);

/// <summary>What nodes need about an endpoint to route: its published breaker view and load figures.</summary>
/// <param name="EndpointId">The endpoint.</param>
/// <param name="View">Breaker state, reason, override.</param>
/// <param name="Load">Latency and error figures for balancing and timeouts.</param>
/// <param name="Version">Increases with every change the grain publishes.</param>
public sealed record EndpointStatus(string EndpointId, EndpointHealthView View, EndpointLoad Load, long Version);

/// <summary>What nodes need about a workload class to route: its policy.</summary>
/// <param name="Name">The class.</param>
/// <param name="Policy">The effective policy.</param>
/// <param name="Version">Increases with every policy change.</param>
public sealed record ClassStatus(string Name, WorkloadClassPolicy Policy, long Version);

/// <summary>Health figures over the endpoint's window.</summary>
public sealed record HealthFigures(long Requests, long Successes, long Failures, long RateLimited, double ErrorRate,
    double? LatencyP50Ms, double? LatencyP95Ms, double? LatencyP99Ms, double? QualityPassRate, long DroppedLate);

/// <summary>Quota levels of the endpoint's buckets (null limits are unlimited).</summary>
public sealed record QuotaLevels(long TokensPerMinute, long RequestsPerMinute, long? AvailableTokens, long? AvailableRequests,
    long OutstandingTokens, long OutstandingRequests);

/// <summary>A node holding a lease.</summary>
public sealed record LeaseHolder(string NodeId, long LeaseId, long Tokens, long Requests, DateTimeOffset ExpiresAt);

/// <summary>The admin view of an endpoint.</summary>
public sealed record EndpointDetails(
    EndpointDescriptor Descriptor,
    EndpointHealthView View,
    BreakerState AutomaticState,
    int Trips,
    DateTimeOffset? OpenUntil,
    HealthFigures Health,
    QuotaLevels Quota,
    IReadOnlyList<LeaseHolder> Leases,
    IReadOnlyList<BreakerEvent> RecentEvents,
    long Version);

/// <summary>The admin view of a workload class.</summary>
public sealed record ClassDetails(
    WorkloadClassPolicy Policy,
    ErrorBudget Availability,
    ErrorBudget Quality,
    double FallbackRate5m,
    IReadOnlyList<HealthAlert> Alerts,
    string? PolicyChangedBy,
    long Version,
    QuotaLevels Budget,
    IReadOnlyList<LeaseHolder> BudgetLeases);

/// <summary>The persisted catalog summary.</summary>
public sealed record FleetSummary(string? Name, string? Version, string Source, IReadOnlyList<string> EndpointIds,
    IReadOnlyList<string> ClassNames, DateTimeOffset LoadedAt, IReadOnlyList<string> Deprecations);

/// <summary>One audited admin change.</summary>
/// <param name="Sequence">Position in the trail (assigned on append).</param>
/// <param name="At">When.</param>
/// <param name="Actor">Who (the caller's <c>X-Actor</c>).</param>
/// <param name="Action">What, e.g. <c>breaker.force_open</c>, <c>endpoint.drain</c>.</param>
/// <param name="Target">The endpoint id or class name.</param>
/// <param name="Reason">Why, as given.</param>
/// <param name="Detail">Extra facts (expiry, previous state).</param>
public sealed record AuditEntry(long Sequence, DateTimeOffset At, string Actor, string Action, string Target, string Reason, string Detail);
