using ControlPlane.Domain.Baselines;
using ControlPlane.Domain.Breakers;
using ControlPlane.Domain.Endpoints;
using ControlPlane.Domain.Health;
using ControlPlane.Domain.Policy;
using ControlPlane.Domain.Quotas;
using ControlPlane.Domain.Routing;
using ControlPlane.Domain.Slo;
using ControlPlane.Service.Security;

namespace ControlPlane.Service.Grains;

// Grain interfaces carry [Alias]es: the names on the wire and in storage stay stable when a type is renamed or moved.
// Messages that are Domain types (policies, views, leases) travel through the JSON codec registered for ControlPlane
// types (AddControlPlaneSerialization); the Service's own messages are records that travel the same way. They are
// [Immutable] (nobody mutates a message after sending it), so a call to a grain on the same silo passes them without a copy.

/// <summary>What endpoint and class grains have in common: they take the nodes' outcome batches and own a quota
/// (an endpoint's TPM/RPM, a class's budget) leased to nodes in slices.</summary>
[Alias("cp.IQuotaOwnerGrain")]
public interface IQuotaOwnerGrain : IGrainWithStringKey
{
    /// <summary>Folds a batch of outcomes in (health windows and breakers; SLO rings). A batch id seen before from the
    /// same node is acknowledged without counting it again (a retry after an ambiguous failure).</summary>
    [Alias("outcomes")]
    Task RecordOutcomesAsync(OutcomeBatch batch);

    /// <summary>Grants a slice of the quota; null when the bucket is empty or the owner is not limited. Persisted
    /// before it is answered; the same request id from the same node gets the same lease.</summary>
    [Alias("grant"), ResponseTimeout("00:00:05")]
    Task<QuotaLease?> GrantLeaseAsync(LeaseRequest request);

    /// <summary>Returns a lease's unused units and its carried reconciliation. Only the node holding the lease may
    /// settle it; a settlement repeated after success changes nothing.</summary>
    [Alias("settle")]
    Task SettleLeaseAsync(string nodeId, LeaseSettlement settlement);

    /// <summary>Which silo hosts this activation (for the admin view of placement).</summary>
    [Alias("host"), ReadOnly]
    Task<string> GetHostAsync();
}

/// <summary>One provider endpoint, keyed by endpoint id: live health windows and breaker, admin overrides,
/// the quota lease ledger carved from its TPM/RPM limits.</summary>
[Alias("cp.IProviderEndpointGrain")]
public interface IProviderEndpointGrain : IQuotaOwnerGrain
{
    /// <summary>Sets or clears an admin override (force open/closed, drain); persisted, audited in the same turn,
    /// then pushed to every node (in parallel, acknowledged) before it returns.</summary>
    [Alias("override")]
    Task<EndpointDetails> ChangeOverrideAsync(OverrideChange change);

    /// <summary>Everything the admin API shows about the endpoint.</summary>
    [Alias("details"), ReadOnly]
    Task<EndpointDetails> GetDetailsAsync();

    /// <summary>Subscribes (or renews) an observer and returns the current routing status.</summary>
    [Alias("subscribe")]
    Task<EndpointStatus> SubscribeAsync(IRoutingObserver observer);

    /// <summary>Grants one half-open probe permit when the breaker is half-open and fewer than
    /// <c>BreakerOptions.HalfOpenProbes</c> are outstanding cluster-wide; persisted before it is answered. The same
    /// request id from the same node gets the same answer.</summary>
    [Alias("probe"), ResponseTimeout("00:00:05")]
    Task<bool> AcquireProbeAsync(ProbeRequest request);

    /// <summary>Acknowledges the endpoint's silent model change: clears its alert and the drain the grain set for it
    /// (never an operator's own override); persisted, audited (<c>endpoint.model_change_ack</c>) and pushed. A repeat
    /// after success changes nothing; without a model change it is a conflict.</summary>
    [Alias("model-change.ack")]
    Task<EndpointDetails> AcknowledgeModelChangeAsync(Catalog.ModelChangeAck ack);

    /// <summary>Federation, in a follower region: adopts the home region's state when it is newer than the one held
    /// (persisted, then pushed to every node); false when not newer or the grain is not a follower.</summary>
    [Alias("fed.adopt")]
    Task<bool> AdoptHomeStateAsync(Federation.FollowedEndpoint followed);

    /// <summary>Federation: the home version of the state this follower holds (0: none, so the feed sends it in full).</summary>
    [Alias("fed.version"), ReadOnly]
    Task<long> GetFollowedVersionAsync();

    /// <summary>Federation, in the home region: applies an override forwarded by a follower region, once per origin
    /// sequence and in order; persisted and audited with the origin region (<see cref="AdminActor.Source"/>
    /// <c>region:NAME</c>), then pushed.</summary>
    [Alias("fed.override")]
    Task<EndpointDetails> ApplyForwardedOverrideAsync(Federation.ForwardedOverride forwarded);
}

/// <summary>One workload class, keyed by class name: policy (fallback approval matrix), SLO and error budget, alerts.</summary>
[Alias("cp.IWorkloadClassGrain")]
public interface IWorkloadClassGrain : IQuotaOwnerGrain
{
    /// <summary>Applies an approved proposal's policy if the class's policy is still at the proposal's base version
    /// (otherwise a conflict); persisted, audited in the same turn, pushed to every node. Only the class's
    /// <see cref="Governance.IPolicyProposalsGrain"/> calls it; the same proposal applies once.</summary>
    [Alias("policy.apply")]
    Task<ClassDetails> ApplyApprovedPolicyAsync(PolicyChange change);

    /// <summary>Forces the class's mode over the approved policy (break-glass); persisted, audited, pushed.</summary>
    [Alias("break-glass")]
    Task<ClassDetails> ForceModeAsync(Governance.BreakGlassChange change);

    /// <summary>Clears the active break-glass (a conflict when there is none) and returns it; persisted, audited, pushed.</summary>
    [Alias("break-glass.clear")]
    Task<Governance.ActiveBreakGlass> ClearBreakGlassAsync(AdminActor actor, string reason);

    /// <summary>Policy, budgets and alerts.</summary>
    [Alias("details"), ReadOnly]
    Task<ClassDetails> GetDetailsAsync();

    /// <summary>Subscribes (or renews) an observer and returns the current policy.</summary>
    [Alias("subscribe")]
    Task<ClassStatus> SubscribeAsync(IRoutingObserver observer);

    /// <summary>Grants a slice of the class's spend ceiling (<see cref="LeaseRequest.Tokens"/> and the lease's
    /// <see cref="QuotaLease.Tokens"/> are nano-dollars); null without a ceiling or when the day's or month's money is
    /// all spent or leased. Persisted before it is answered; the same request id from the same node gets the same lease.</summary>
    [Alias("spend.grant"), ResponseTimeout("00:00:05")]
    Task<QuotaLease?> GrantSpendLeaseAsync(LeaseRequest request);

    /// <summary>Returns a spend lease's unused money and its carried reconciliation (nano-dollars).</summary>
    [Alias("spend.settle")]
    Task SettleSpendLeaseAsync(string nodeId, LeaseSettlement settlement);
}

/// <summary>The fleet catalog (key <see cref="FleetGrain.Key"/>): which endpoints and classes exist, from which
/// configuration version, and when it was loaded.</summary>
[Alias("cp.IFleetGrain")]
public interface IFleetGrain : IGrainWithStringKey
{
    /// <summary>The catalog as persisted.</summary>
    [Alias("summary"), ReadOnly]
    Task<FleetSummary> GetSummaryAsync();

    /// <summary>Raises the deprecation notices due now (90, 30 and 7 days before the date, and past due), each stage
    /// once per endpoint and date: logged at Warning with the owner team and on-call, persisted before it returns (a
    /// restart does not repeat them). Returns the notices this call raised.</summary>
    [Alias("deprecations.raise")]
    Task<IReadOnlyList<Catalog.DeprecationNotice>> RaiseDueNoticesAsync();

    /// <summary>The last notice raised per endpoint, in fleet order.</summary>
    [Alias("deprecations.raised"), ReadOnly]
    Task<IReadOnlyList<Catalog.DeprecationNotice>> GetRaisedNoticesAsync();
}

/// <summary>The audit trail (key <see cref="Audit.AuditTrailGrain.Key"/>): every admin change, hash-chained and
/// persisted before the append returns. The newest entries live in the trail's own state; full segments are sealed into
/// <see cref="IAuditSegmentGrain"/>s, so an append never rewrites the whole history; nothing is ever dropped.</summary>
[Alias("cp.IAuditTrailGrain")]
public interface IAuditTrailGrain : IGrainWithStringKey
{
    /// <summary>Appends an entry and returns it with its sequence number, time and hashes. An entry whose
    /// <see cref="AuditEntry.ChangeId"/> the trail already holds (a retried delivery) is not appended again.</summary>
    [Alias("append")]
    Task<AuditEntry> AppendAsync(AuditEntry entry);

    /// <summary>The newest <paramref name="limit"/> entries, newest first.</summary>
    [Alias("list")]
    Task<IReadOnlyList<AuditEntry>> ListAsync(int limit);

    /// <summary>The head: last sequence and hash, the number of sealed segments, and the newest entries.</summary>
    [Alias("head"), ReadOnly]
    Task<Audit.AuditHead> GetHeadAsync();

    /// <summary>Sealed segment <paramref name="number"/> as storage holds it (oldest first), or null when it is not a
    /// sealed segment or storage has no record of it.</summary>
    [Alias("read-segment"), ReadOnly]
    Task<IReadOnlyList<AuditEntry>?> ReadSegmentAsync(long number);

    /// <summary>Walks the whole stored trail oldest first and reports the first break.</summary>
    [Alias("verify"), ReadOnly]
    Task<Audit.AuditVerification> VerifyAsync();
}

/// <summary>A sealed segment of the audit trail (key <c>audit/{n}</c>): written once, never rewritten or cleared.</summary>
[Alias("cp.IAuditSegmentGrain")]
public interface IAuditSegmentGrain : IGrainWithStringKey
{
    /// <summary>Stores the segment's entries (once; a repeat with the same entries is a no-op, other entries are refused).</summary>
    [Alias("seal")]
    Task SealAsync(IReadOnlyList<AuditEntry> entries);

    /// <summary>The segment's entries, oldest first.</summary>
    [Alias("entries"), ReadOnly]
    Task<IReadOnlyList<AuditEntry>> GetEntriesAsync();
}

/// <summary>A node's view of the grains: every routing-relevant change is pushed here.</summary>
[Alias("cp.IRoutingObserver")]
public interface IRoutingObserver : IGrainObserver
{
    /// <summary>An endpoint's breaker, override or load changed.</summary>
    [Alias("ep")]
    Task OnEndpointChangedAsync(EndpointStatus status);

    /// <summary>A workload class's policy changed.</summary>
    [Alias("cls")]
    Task OnClassChangedAsync(ClassStatus status);
}

/// <summary>One attempt outcome as a node reports it to the grains.</summary>
/// <param name="EndpointId">The endpoint that served (or failed) the attempt.</param>
/// <param name="WorkloadClass">The attempt's workload class.</param>
/// <param name="Sample">What happened.</param>
/// <param name="Fallback">True when the endpoint is not one of the class's primaries.</param>
/// <param name="DecisionKey">The decision's duplicate key (from its verified id); 0 for an outcome without a decision.
/// Grains count one outcome per decision key.</param>
/// <param name="RequestKey">The request's key (from the decision id or the outcome's <c>request_id</c>); 0 for none.
/// The class grain counts one availability event per request key (see <c>RequestAttempts</c>).</param>
/// <param name="Attempt">The attempt number within the request.</param>
[Immutable]
public sealed record OutcomeRecord(string EndpointId, string WorkloadClass, OutcomeSample Sample, bool Fallback,
    long DecisionKey = 0, long RequestKey = 0, int Attempt = 0)
{
    /// <summary>The model version the provider returned when it differs from the endpoint's pinned one; null when the
    /// outcome reported none or the pinned one (a silent model change otherwise: see <c>docs/governance.md</c>).</summary>
    public string? ReturnedModelVersion { get; init; }

    /// <summary>The outcome's workflow verdict (<c>Outcome.workflow_verdict</c>): whether the task this call was part of
    /// completed; unspecified when the caller does not know. Feeds the class's <c>workflow-failure-rate</c> alert.</summary>
    public Contracts.V1.WorkflowVerdict WorkflowVerdict { get; init; }

    /// <summary>A prober's synthetic outcome (<c>Outcome.synthetic</c>): it goes to the endpoint grain only (its health
    /// and recovery gate), never to a class grain; <see cref="WorkloadClass"/> is empty.</summary>
    public bool Synthetic { get; init; }
}

/// <summary>Outcomes for one grain from one node's flush.</summary>
/// <param name="NodeId">The sending node.</param>
/// <param name="BatchId">Unique per node start and flush; a retried batch keeps its id, so the grain counts it once.</param>
/// <param name="Outcomes">The outcomes.</param>
[Immutable]
public sealed record OutcomeBatch(string NodeId, string BatchId, IReadOnlyList<OutcomeRecord> Outcomes);

/// <summary>A lease request.</summary>
/// <param name="NodeId">The node that will hold the lease.</param>
/// <param name="RequestId">Unique per attempt; a retry of the same attempt reuses it and gets the same lease.</param>
/// <param name="Tokens">Tokens asked for.</param>
/// <param name="Requests">Requests asked for.</param>
/// <param name="DemandTokensPerMinute">The node's recent spend rate of this quota in tokens per minute (0: none or
/// unknown); the grain weighs contended grants by it.</param>
/// <param name="DemandRequestsPerMinute">The node's recent spend rate in requests per minute.</param>
[Immutable]
public sealed record LeaseRequest(string NodeId, string RequestId, long Tokens, long Requests,
    long DemandTokensPerMinute = 0, long DemandRequestsPerMinute = 0);

/// <summary>An admin override change on an endpoint.</summary>
/// <param name="Kind">The override to set; null clears the current one (back to the automatic breaker).</param>
/// <param name="Actor">Who.</param>
/// <param name="Reason">Why.</param>
/// <param name="Ttl">How long it lasts; null for until cleared.</param>
/// <param name="AuditAction">The audit trail's action name, e.g. <c>breaker.force_open</c>.</param>
/// <param name="RequireCurrent">When set, the change applies only while this override is active (undrain).</param>
[Immutable]
public sealed record OverrideChange(OverrideKind? Kind, AdminActor Actor, string Reason, TimeSpan? Ttl, string AuditAction,
    OverrideKind? RequireCurrent = null);

/// <summary>An approved policy change on a workload class.</summary>
/// <param name="Policy">The new policy (already validated against the catalog by the caller; validated again).</param>
/// <param name="Actor">Who applied it (the last approver).</param>
/// <param name="Reason">Why (the proposal's reason).</param>
/// <param name="ExpectedVersion">The policy version (1: the fleet file's) the change was computed from; a different
/// current version is a conflict (no lost updates).</param>
[Immutable]
public sealed record PolicyChange(WorkloadClassPolicy Policy, AdminActor Actor, string Reason, long ExpectedVersion)
{
    /// <summary>The approved proposal; required (a policy changes only through one).</summary>
    public string ProposalId { get; init; } = "";

    /// <summary>Who proposed it.</summary>
    public string ProposedBy { get; init; } = "";

    /// <summary>Who approved it.</summary>
    public IReadOnlyList<string> ApprovedBy { get; init; } = [];

    /// <summary>The supporting eval, if any.</summary>
    public string? EvalRef { get; init; }
}

/// <summary>What nodes need about an endpoint to route: its published breaker view and load figures.</summary>
/// <param name="EndpointId">The endpoint.</param>
/// <param name="View">Breaker state, reason, override.</param>
/// <param name="Load">Latency and error figures for balancing and timeouts.</param>
/// <param name="Version">Increases with every change the grain publishes, across restarts and storage resets.</param>
[Immutable]
public sealed record EndpointStatus(string EndpointId, EndpointHealthView View, EndpointLoad Load, long Version);

/// <summary>What nodes need about a workload class to route: its policy.</summary>
/// <param name="Name">The class.</param>
/// <param name="Policy">The effective policy.</param>
/// <param name="Version">Increases with every policy change, across restarts and storage resets.</param>
/// <param name="Nodes">Nodes subscribed to the class grain: each node's share of the retry budget's floor is 1/Nodes.</param>
[Immutable]
public sealed record ClassStatus(string Name, WorkloadClassPolicy Policy, long Version, int Nodes = 1);

/// <summary>Health figures over the endpoint's window.</summary>
[Immutable]
public sealed record HealthFigures(long Requests, long Successes, long Failures, long RateLimited, double ErrorRate,
    double? LatencyP50Ms, double? LatencyP95Ms, double? LatencyP99Ms, double? QualityPassRate, long DroppedLate);

/// <summary>Quota levels of the endpoint's buckets (null limits are unlimited).</summary>
[Immutable]
public sealed record QuotaLevels(long TokensPerMinute, long RequestsPerMinute, long? AvailableTokens, long? AvailableRequests,
    long OutstandingTokens, long OutstandingRequests);

/// <summary>A node holding a lease.</summary>
[Immutable]
public sealed record LeaseHolder(string NodeId, long LeaseId, long Tokens, long Requests, DateTimeOffset ExpiresAt);

/// <summary>The admin view of an endpoint.</summary>
[Immutable]
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
    long Version,
    string Host)
{
    /// <summary>The endpoint-wide rolling baselines the breaker judges against (null members: not trusted yet).</summary>
    public BaselineValues Baseline { get; init; }

    /// <summary>The time per output token published for the adaptive timeout (p95 over the window), in ms; null
    /// without samples.</summary>
    public double? PerOutputTokenMs { get; init; }

    /// <summary>The silent model change the endpoint last observed (acknowledged or not); null when none.</summary>
    public Catalog.ModelChangeRecord? ModelChange { get; init; }

    /// <summary>Federation: home region, follower or not, changes pending at the home region; null when federation is off.</summary>
    public Federation.FederationStatus? Federation { get; init; }
}

/// <summary>The admin view of a workload class.</summary>
[Immutable]
public sealed record ClassDetails(
    WorkloadClassPolicy Policy,
    ErrorBudget Availability,
    ErrorBudget Quality,
    double FallbackRate5m,
    IReadOnlyList<HealthAlert> Alerts,
    string? PolicyChangedBy,
    long Version,
    QuotaLevels Budget,
    IReadOnlyList<LeaseHolder> BudgetLeases,
    string Host,
    SpendLevels? Spend = null)
{
    /// <summary>The latency SLO's budget (served requests slower than <see cref="LatencyThreshold"/> are bad); no
    /// events when the class has no latency objective.</summary>
    public ErrorBudget? Latency { get; init; }

    /// <summary>The class's <c>slo.latency_p95_ms</c>; null for no latency objective.</summary>
    public TimeSpan? LatencyThreshold { get; init; }

    /// <summary>Requests that succeeded after an earlier attempt failed (on the primary, recovered by a retry or an
    /// approved fallback), since the grain's activation: counted once, as available.</summary>
    public long ServedByFallback { get; init; }

    /// <summary>The approved policy's version (1: the fleet file's).</summary>
    public long PolicyVersion { get; init; } = 1;

    /// <summary>The active break-glass, if any (<see cref="Policy"/> then has its forced mode).</summary>
    public Governance.ActiveBreakGlass? BreakGlass { get; init; }

    /// <summary>The approved policy (differs from <see cref="Policy"/> only under a break-glass).</summary>
    public WorkloadClassPolicy? ApprovedPolicy { get; init; }

    /// <summary>Federation: the policy home, follower or not, changes pending at the policy home; null when federation is off.</summary>
    public Federation.ClassFederationStatus? Federation { get; init; }
}

/// <summary>The persisted catalog summary.</summary>
[Immutable]
public sealed record FleetSummary(string? Name, string? Version, string Source, IReadOnlyList<string> EndpointIds,
    IReadOnlyList<string> ClassNames, DateTimeOffset LoadedAt, IReadOnlyList<string> Deprecations);

/// <summary>One audited admin change (or refused attempt).</summary>
/// <param name="Sequence">Position in the trail (assigned on append).</param>
/// <param name="At">When (assigned on append).</param>
/// <param name="Actor">Who: the authenticated principal, its roles, credential, address and request id.</param>
/// <param name="Action">What, e.g. <c>breaker.force_open</c>, <c>endpoint.drain</c>, <c>class.policy</c>.</param>
/// <param name="Target">The endpoint id, class name, key id or proposal id.</param>
/// <param name="Reason">Why, as given.</param>
/// <param name="Before">The state before the change, in words (empty when there is none).</param>
/// <param name="After">The state after the change, in words.</param>
[Immutable]
public sealed record AuditEntry(long Sequence, DateTimeOffset At, AdminActor Actor, string Action, string Target, string Reason,
    string Before, string After)
{
    /// <summary>The eval that supports the change (a policy proposal's reference), if any.</summary>
    public string? EvalRef { get; init; }

    /// <summary>The hash of the previous entry (hex SHA-256; empty for the first entry): the chain link.</summary>
    public string PreviousHash { get; init; } = "";

    /// <summary>This entry's hash over its fields and <see cref="PreviousHash"/> (assigned on append).</summary>
    public string Hash { get; init; } = "";

    /// <summary>The change's id from its grain's audit outbox (<c>{source}#{number}</c>), so a retried delivery is
    /// appended once; null for entries appended directly.</summary>
    public string? ChangeId { get; init; }
}
