using ControlPlane.Domain.Health;
using ControlPlane.Domain.Quotas;
using ControlPlane.Domain.Routing;

namespace ControlPlane.Service;

/// <summary>Options of the control plane service (grains and the node fast path).</summary>
public sealed class ControlPlaneOptions
{
    /// <summary>This node's id (lease holder name). Defaults to <c>node-local</c>.</summary>
    public string NodeId { get; set; } = "node-local";

    /// <summary>How often queued outcomes are flushed to the owning grains.
    /// <value>Must be between 10 ms and 1 s. Defaults to 50 ms.</value></summary>
    public TimeSpan OutcomeFlushInterval { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>How often endpoint grains evaluate their windows (breaker rules, latency, alerts).
    /// <value>Must be between 100 ms and 5 min. Defaults to 10 s.</value></summary>
    public TimeSpan EvaluationPeriod { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How often endpoint and class grains persist what they learn from outcomes (rolling baselines, SLO
    /// counts) when it changed; also written on deactivation. A crash loses at most this much of it.
    /// <value>Must be between 10 s and 1 h. Defaults to 1 min.</value></summary>
    public TimeSpan LearnedStatePersistPeriod { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How long an observer subscription lives without renewal; nodes renew at a third of it.
    /// <value>Must be between 3 s and 1 h. Defaults to 60 s.</value></summary>
    public TimeSpan SubscriptionExpiry { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How long a grain waits for one node to acknowledge a pushed change. Pushes go to all nodes in parallel; a
    /// node that missed one gets the latest status again a second later, and is dropped after three misses in a row (it
    /// gets the full status when it re-subscribes).
    /// <value>Must be between 100 ms and 30 s. Defaults to 2 s.</value></summary>
    public TimeSpan PushTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Outcomes a node queues before it drops the oldest (storage or grains unreachable).
    /// <value>Must be between 1,000 and 10,000,000. Defaults to 1,000,000.</value></summary>
    public int MaxQueuedOutcomes { get; set; } = 1_000_000;

    /// <summary>Share of an endpoint's per-minute limit a node asks for in one lease.
    /// <value>Must be in (0, 1]. Defaults to 0.1.</value></summary>
    public double LeaseSliceFraction { get; set; } = 0.1;

    /// <summary>Leases follow demand: a node asks for its recent spend rate times this horizon (between the minimum and
    /// the <see cref="LeaseSliceFraction"/> slice), and hands back a slice holding more than twice that.
    /// <value>Must be between 100 ms and the lease duration. Defaults to 2 s.</value></summary>
    public TimeSpan LeaseDemandHorizon { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Share of the per-minute limit an idle node still holds (so its next request is admitted at once).
    /// <value>Must be in (0, <see cref="LeaseSliceFraction"/>]. Defaults to 0.01.</value></summary>
    public double LeaseMinSliceFraction { get; set; } = 0.01;

    /// <summary>Share of a quota's limit its grain may still grant while it cannot write its state (storage unreachable),
    /// in total until a write succeeds; what it grants meanwhile is at most this much beyond the limit if the activation
    /// is lost before storage returns.
    /// <value>Must be in [0, 1]. Defaults to 0.25.</value></summary>
    public double LeaseOutageShare { get; set; } = 0.25;

    /// <summary>Breaker events kept per endpoint for the admin view.
    /// <value>Must be between 0 and 1,000. Defaults to 50.</value></summary>
    public int RecentEventsKept { get; set; } = 50;

    /// <summary>The cluster's decision key: base64 (or base64url) of 32 to 64 random bytes, the same on every node.
    /// Decision ids carry a MAC (SipHash-2-4-128 under a key derived from it), so any node verifies any node's decisions. Null (the default):
    /// the key is generated once per cluster and persisted by the decision key grain, so the nodes of a cluster share
    /// it with no configuration. Server: <c>--decision-key</c> or <c>CONTROLPLANE_DECISION_KEY</c>.
    /// <value>Null or 32-64 bytes of base64. Defaults to null.</value></summary>
    public string? DecisionKey { get; set; }

    /// <summary>Whether outcomes without a <c>decision_id</c> are accepted (from a proxy that routed on its own table).
    /// A stop-gap: the governance work replaces it with caller identities allowed to report them. Server:
    /// <c>--accept-unrouted-outcomes</c>.
    /// <value>Defaults to false (such outcomes are refused with INVALID_ARGUMENT naming <c>decision_id</c>).</value></summary>
    public bool AcceptUnroutedOutcomes { get; set; }

    /// <summary>How long after its decision an outcome is accepted; the grains remember counted decisions as long, so
    /// a duplicate is counted once.
    /// <value>Must be between 1 min and 1 day. Defaults to 1 h.</value></summary>
    public TimeSpan DecisionIdLifetime { get; set; } = TimeSpan.FromHours(1);

    /// <summary>How long a class grain holds a request's failed attempt waiting for a later attempt of the same request
    /// to succeed (then the request counts as available, "served by fallback"); after it the request counts as failed.
    /// Cover the longest a request's remaining attempts take (the class's max request time).
    /// <value>Must be between 1 s and 1 h. Defaults to 2 min.</value></summary>
    public TimeSpan AttemptGrace { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Health windows, baselines and breakers.</summary>
    public EndpointHealthOptions Health { get; set; } = new();

    /// <summary>Quota lease timing.</summary>
    public LeaseOptions Lease { get; set; } = new();

    /// <summary>The decision function.</summary>
    public RouterOptions Router { get; set; } = new();

    /// <summary>Spend ceilings of workload classes (lease slices, runaway-cost signal).</summary>
    public SpendOptions Spend { get; set; } = new();

    /// <summary>Held Route calls of queue_only classes.</summary>
    public DataPlane.RouteQueueOptions Queue { get; set; } = new();

    /// <summary>Lease top-ups for Route calls refused because this node's slices ran dry.</summary>
    public DataPlane.LeaseTopUpOptions TopUp { get; set; } = new();

    /// <summary>How long a policy proposal waits for its approvals before it expires.
    /// <value>Must be between 1 min and 90 days. Defaults to 7 days.</value></summary>
    public TimeSpan ProposalLifetime { get; set; } = TimeSpan.FromDays(7);

    /// <summary>The request log (one JSON line per accepted outcome: <c>docs/request-log.md</c>). Off unless a path or
    /// OTLP is set.</summary>
    public RequestLog.RequestLogOptions RequestLog { get; set; } = new();

    /// <summary>How long a node counts a decision it issued as a request in flight to its endpoint when no outcome comes
    /// back to this node (reported to another node, or never): power-of-two-choices then stops counting it. An outcome
    /// reported here ends the count at once.
    /// <value>Must be between 1 s and 4 min (below the 5 min a pending decision is kept). Defaults to 60 s.</value></summary>
    public TimeSpan InFlightExpiry { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first bad option.</summary>
    public ControlPlaneOptions Validate()
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(NodeId, nameof(NodeId));
        Check(OutcomeFlushInterval, TimeSpan.FromMilliseconds(10), TimeSpan.FromSeconds(1), nameof(OutcomeFlushInterval));
        Check(EvaluationPeriod, TimeSpan.FromMilliseconds(100), TimeSpan.FromMinutes(5), nameof(EvaluationPeriod));
        Check(LearnedStatePersistPeriod, TimeSpan.FromSeconds(10), TimeSpan.FromHours(1), nameof(LearnedStatePersistPeriod));
        Check(SubscriptionExpiry, TimeSpan.FromSeconds(3), TimeSpan.FromHours(1), nameof(SubscriptionExpiry));
        Check(PushTimeout, TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(30), nameof(PushTimeout));
        if (MaxQueuedOutcomes is < 1_000 or > 10_000_000)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxQueuedOutcomes), MaxQueuedOutcomes, "ControlPlaneOptions.MaxQueuedOutcomes must be between 1,000 and 10,000,000.");
        }

        if (!(LeaseSliceFraction > 0 && LeaseSliceFraction <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(LeaseSliceFraction), LeaseSliceFraction, "ControlPlaneOptions.LeaseSliceFraction must be in (0, 1].");
        }

        if (!(LeaseMinSliceFraction > 0 && LeaseMinSliceFraction <= LeaseSliceFraction))
        {
            throw new ArgumentOutOfRangeException(nameof(LeaseMinSliceFraction), LeaseMinSliceFraction, "ControlPlaneOptions.LeaseMinSliceFraction must be in (0, LeaseSliceFraction].");
        }

        if (!(LeaseOutageShare >= 0 && LeaseOutageShare <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(LeaseOutageShare), LeaseOutageShare, "ControlPlaneOptions.LeaseOutageShare must be in [0, 1].");
        }

        Check(LeaseDemandHorizon, TimeSpan.FromMilliseconds(100), Lease.Duration, nameof(LeaseDemandHorizon));
        if (RecentEventsKept is < 0 or > 1_000)
        {
            throw new ArgumentOutOfRangeException(nameof(RecentEventsKept), RecentEventsKept, "ControlPlaneOptions.RecentEventsKept must be between 0 and 1,000.");
        }

        if (DecisionKey is not null && DataPlane.DecisionIds.ParseKey(DecisionKey) is null)
        {
            throw new ArgumentOutOfRangeException(nameof(DecisionKey), "(hidden)", "ControlPlaneOptions.DecisionKey must be base64 of 32 to 64 bytes.");
        }

        Check(DecisionIdLifetime, TimeSpan.FromMinutes(1), TimeSpan.FromDays(1), nameof(DecisionIdLifetime));
        Check(AttemptGrace, TimeSpan.FromSeconds(1), TimeSpan.FromHours(1), nameof(AttemptGrace));
        Health.Validate();
        Lease.Validate(TimeSpan.FromMinutes(1));
        Router.Validate();
        Spend.Validate();
        Queue.Validate();
        TopUp.Validate();
        RequestLog.Validate();
        Check(ProposalLifetime, TimeSpan.FromMinutes(1), TimeSpan.FromDays(90), nameof(ProposalLifetime));
        Check(InFlightExpiry, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(4), nameof(InFlightExpiry));
        return this;
    }

    private static void Check(TimeSpan value, TimeSpan min, TimeSpan max, string name)
    {
        if (value < min || value > max)
        {
            throw new ArgumentOutOfRangeException(name, value, $"ControlPlaneOptions.{name} must be between {min} and {max}.");
        }
    }
}
