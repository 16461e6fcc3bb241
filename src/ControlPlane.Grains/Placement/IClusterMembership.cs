namespace ControlPlane.Grains.Placement;

/// <summary>This silo's standing in a cluster: the live members (with the addresses of their internal channel), a view
/// version that grows on every change, and whether this silo may serve grain turns. The silo joins in
/// <see cref="GrainSilo.StartAsync"/> and leaves in <see cref="GrainSilo.StopAsync"/>; single-node silos have none.</summary>
public interface IClusterMembership
{
    /// <summary>This silo's id in the current view. A silo whose lease expired rejoins under a new id, so this can change.</summary>
    string LocalSiloId { get; }

    /// <summary>The live members, this silo included once joined, ordered by silo id.</summary>
    IReadOnlyList<ClusterMember> Members { get; }

    /// <summary>The view version; larger after every join or leave (expired leases count as leaves).</summary>
    long ViewVersion { get; }

    /// <summary>False while this silo must not run grain turns: its lease is at risk (self-fence) or was lost.</summary>
    bool IsServing { get; }

    /// <summary>Raised (on a background thread) when <see cref="Members"/>, <see cref="ViewVersion"/> or
    /// <see cref="IsServing"/> changed.</summary>
    event EventHandler? Changed;

    /// <summary>Raised (on a background thread) when every claim of this silo became void (its lease expired, or storage
    /// lost its data): the runtime deactivates every activation at once; their writes are fenced.</summary>
    event EventHandler? ClaimsVoided;

    /// <summary>The live member with id <paramref name="siloId"/>, or null.</summary>
    ClusterMember? FindMember(string siloId);

    /// <summary>Joins the cluster (called before the silo takes calls).</summary>
    Task JoinAsync(CancellationToken cancellationToken = default);

    /// <summary>Leaves the cluster (called after the silo deactivated its grains and released their claims).</summary>
    Task LeaveAsync(CancellationToken cancellationToken = default);
}

/// <summary>A live silo of the cluster.</summary>
/// <param name="SiloId">Unique among all members the cluster ever had (a rejoin takes a new id).</param>
/// <param name="Address">The silo's internal channel endpoint, <c>host:port</c>.</param>
/// <param name="StartedAt">When the silo joined, on the membership store's clock.</param>
public sealed record ClusterMember(string SiloId, string Address, DateTimeOffset StartedAt);
