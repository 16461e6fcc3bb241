using ControlPlane.Domain.Policy;
using ControlPlane.Service.Governance;
using ControlPlane.Service.Security;

namespace ControlPlane.Service.Federation;

/// <summary>What a forwarded class change does.</summary>
public enum ClassChangeKind
{
    /// <summary>Applies an approved proposal's policy.</summary>
    Policy = 1,

    /// <summary>Sets a break-glass.</summary>
    BreakGlass = 2,

    /// <summary>Clears the active break-glass.</summary>
    ClearBreakGlass = 3,
}

/// <summary>A class policy change made in a region that is not the policy home: kept in the class grain's ordered outbox
/// (persisted with the change) until the policy home acknowledged it, and applied there in <see cref="Sequence"/> order,
/// each once (<c>docs/regions.md</c>).</summary>
/// <param name="OriginRegion">Where it was made.</param>
/// <param name="Sequence">Its place in the origin class grain's outbox (1, 2, ...).</param>
/// <param name="Kind">What it does.</param>
/// <param name="Actor">Who made it, in the origin region (the last approver for a policy).</param>
/// <param name="Reason">Why.</param>
[Immutable]
public sealed record ForwardedClassChange(string OriginRegion, long Sequence, ClassChangeKind Kind, AdminActor Actor, string Reason)
{
    /// <summary>The approved policy (<see cref="ClassChangeKind.Policy"/>).</summary>
    public WorkloadClassPolicy? Policy { get; init; }

    /// <summary>The policy version the proposal was computed from.</summary>
    public long ExpectedVersion { get; init; }

    /// <summary>The proposal's id in the origin region.</summary>
    public string ProposalId { get; init; } = "";

    /// <summary>Who proposed it.</summary>
    public string ProposedBy { get; init; } = "";

    /// <summary>Who approved it.</summary>
    public IReadOnlyList<string> ApprovedBy { get; init; } = [];

    /// <summary>The supporting eval, if any.</summary>
    public string? EvalRef { get; init; }

    /// <summary>The break-glass id in the origin region (<see cref="ClassChangeKind.BreakGlass"/>).</summary>
    public string BreakGlassId { get; init; } = "";

    /// <summary>The forced mode of a break-glass.</summary>
    public RoutingMode Mode { get; init; }

    /// <summary>A break-glass's lifetime; null for until cleared.</summary>
    public TimeSpan? Ttl { get; init; }

    /// <summary>The idempotency key on the wire.</summary>
    public string RequestId => $"{OriginRegion}#{Sequence}";
}

/// <summary>A class's policy state as the policy-home region's class grain holds it: published on its feed and adopted by
/// the class grain in every other region (persisted there: a restarted region routes on it).</summary>
/// <param name="HomeVersion">The home grain's publication version; a follower adopts only a newer one.</param>
/// <param name="PolicyVersion">The approved policy's version.</param>
/// <param name="Policy">The approved policy.</param>
/// <param name="ChangedBy">Who set it (null: the fleet file).</param>
/// <param name="BreakGlass">The active break-glass, if any.</param>
[Immutable]
public sealed record FollowedClass(long HomeVersion, long PolicyVersion, WorkloadClassPolicy Policy, string? ChangedBy, ActiveBreakGlass? BreakGlass);

/// <summary>What a class grain says about its place in federation.</summary>
/// <param name="PolicyHome">The policy-home region.</param>
/// <param name="Follower">True in a region other than the policy home.</param>
/// <param name="PendingHome">Changes made here not yet acknowledged by the policy home (applied here meanwhile).</param>
/// <param name="HomeVersion">The home version last adopted (0: none yet).</param>
[Immutable]
public sealed record ClassFederationStatus(string PolicyHome, bool Follower, int PendingHome, long HomeVersion);

/// <summary>Federation of a workload class's policy (key: the class name; the same activation as
/// <see cref="Grains.IWorkloadClassGrain"/>). The policy-home region's grain is authoritative; the others follow it.</summary>
[Alias("cp.IClassFederationGrain")]
public interface IClassFederationGrain : IGrainWithStringKey
{
    /// <summary>Policy home: the class's state for the change feed.</summary>
    [Alias("fed.class.state"), ReadOnly]
    Task<FollowedClass> GetFederatedStateAsync();

    /// <summary>Follower: adopts the policy home's state when newer (persisted before it is pushed); true when adopted.</summary>
    [Alias("fed.class.adopt")]
    Task<bool> AdoptHomeClassAsync(FollowedClass followed);

    /// <summary>Follower: the home version last adopted (0: none).</summary>
    [Alias("fed.class.followed"), ReadOnly]
    Task<long> GetFollowedClassVersionAsync();

    /// <summary>Policy home: applies a change forwarded by another region, once per (origin, sequence) and in order,
    /// audited with the origin region; returns the state after it.</summary>
    [Alias("fed.class.apply")]
    Task<FollowedClass> ApplyForwardedClassChangeAsync(ForwardedClassChange forwarded);

    /// <summary>The class's federation status; null with federation off.</summary>
    [Alias("fed.class.status"), ReadOnly]
    Task<ClassFederationStatus?> GetClassFederationAsync();
}
