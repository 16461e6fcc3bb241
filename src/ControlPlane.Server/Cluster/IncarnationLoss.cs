namespace ControlPlane.Server.Cluster;

/// <summary>Why a node's incarnation is over.</summary>
internal enum IncarnationLossReason
{
    /// <summary>Redis answered and the incarnation key is gone: Redis restarted empty, was flushed, or failed over to
    /// an empty replica. Nobody has founded a new incarnation yet.</summary>
    MarkerMissing,

    /// <summary>Redis answered with another incarnation: the data was lost and a node that joined afterwards
    /// founded a new cluster.</summary>
    MarkerChanged,

    /// <summary>Redis answered and Orleans' membership table is gone (only when
    /// <see cref="IncarnationWatchdogOptions.MembershipKey"/> is set).</summary>
    MembershipTableMissing,

    /// <summary>The cluster voted this silo dead (it did not answer probes in time: a frozen or starved process, a
    /// partition, a slow rejoin after a storage outage) and Orleans told it so (<see cref="DeclaredDeadHandler"/>). The
    /// incarnation lives on; this silo's membership in it does not, so the node joins again as a new silo.</summary>
    DeclaredDead,
}

/// <summary>What one check found.</summary>
internal enum IncarnationCheckResult
{
    /// <summary>Redis answered and holds this node's incarnation.</summary>
    Confirmed,

    /// <summary>This node belongs to a dead incarnation (raised once through <see cref="IncarnationWatchdog.IncarnationLost"/>).</summary>
    Lost,

    /// <summary>Redis did not answer within <see cref="IncarnationWatchdogOptions.CheckTimeout"/> or failed; nothing is
    /// concluded (fail-static).</summary>
    Unreachable,
}

/// <summary>The end of a node's incarnation, as the watchdog saw it.</summary>
/// <param name="Incarnation">This node's incarnation.</param>
/// <param name="Reason">What the check found.</param>
/// <param name="Found">The incarnation Redis holds now, when <see cref="IncarnationLossReason.MarkerChanged"/>; Orleans'
/// reason, when <see cref="IncarnationLossReason.DeclaredDead"/>.</param>
/// <param name="DetectedAt">When the check that found it completed.</param>
internal sealed record IncarnationLoss(string Incarnation, IncarnationLossReason Reason, string? Found, DateTimeOffset DetectedAt);
