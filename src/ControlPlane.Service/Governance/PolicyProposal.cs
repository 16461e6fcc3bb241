using ControlPlane.Domain.Policy;

namespace ControlPlane.Service.Governance;

/// <summary>The states of a policy proposal (wire names).</summary>
public static class ProposalStates
{
    /// <summary>Waiting for approvals.</summary>
    public const string Pending = "pending";

    /// <summary>Every required approval came in and the policy was applied.</summary>
    public const string Applied = "applied";

    /// <summary>An approver rejected it.</summary>
    public const string Rejected = "rejected";

    /// <summary>Not approved within <see cref="ControlPlaneOptions.ProposalLifetime"/>.</summary>
    public const string Expired = "expired";

    /// <summary>The class's policy changed after the proposal was made: approving it would undo that change.</summary>
    public const string Superseded = "superseded";

    /// <summary>Every state, for validating filters.</summary>
    public static readonly IReadOnlyList<string> All = [Pending, Applied, Rejected, Expired, Superseded];
}

/// <summary>One approval of a proposal.</summary>
/// <param name="Principal">Who approved.</param>
/// <param name="Role">Which required role the approval fills (<c>policy-approver</c> or <c>compliance-approver</c>).</param>
/// <param name="At">When.</param>
/// <param name="Reason">Why, if given.</param>
[Immutable]
public sealed record ProposalApproval(string Principal, string Role, DateTimeOffset At, string? Reason);

/// <summary>A proposed change to a workload class's fallback policy, waiting for (or past) its approvals.</summary>
/// <param name="Id">The proposal id, <c>{class}~{n}</c>.</param>
/// <param name="Class">The workload class.</param>
/// <param name="State">One of <see cref="ProposalStates"/>.</param>
/// <param name="ProposedBy">The proposer's principal.</param>
/// <param name="Reason">Why.</param>
/// <param name="EvalRef">The eval that supports the change, if any.</param>
/// <param name="BaseVersion">The policy version the proposal was computed from.</param>
/// <param name="Policy">The complete proposed policy (validated against the catalog).</param>
/// <param name="Approvals">The approvals in so far.</param>
/// <param name="Requires">The roles that must each approve (one distinct principal per role).</param>
/// <param name="CreatedAt">When it was proposed.</param>
/// <param name="ExpiresAt">When it expires unless applied first.</param>
[Immutable]
public sealed record PolicyProposal(string Id, string Class, string State, string ProposedBy, string Reason, string? EvalRef,
    long BaseVersion, WorkloadClassPolicy Policy, IReadOnlyList<ProposalApproval> Approvals, IReadOnlyList<string> Requires,
    DateTimeOffset CreatedAt, DateTimeOffset ExpiresAt)
{
    /// <summary>The version the policy became when applied.</summary>
    public long? AppliedVersion { get; init; }

    /// <summary>For a revert: the version whose policy it restores.</summary>
    public long? RevertTo { get; init; }

    /// <summary>When it left <see cref="ProposalStates.Pending"/>.</summary>
    public DateTimeOffset? ClosedAt { get; init; }

    /// <summary>Who closed it (the rejecting approver, the last approver, or <c>system:...</c>).</summary>
    public string? ClosedBy { get; init; }

    /// <summary>Why it was closed (the rejection's reason, the conflict).</summary>
    public string? CloseReason { get; init; }
}

/// <summary>One applied policy version of a class.</summary>
/// <param name="Version">1 is the fleet file's policy; each applied proposal adds one.</param>
/// <param name="Policy">The policy.</param>
/// <param name="AppliedAt">When it was applied (for version 1: when the history was started).</param>
/// <param name="ProposalId">The proposal that applied it; null for version 1.</param>
/// <param name="ProposedBy">Who proposed it (<c>fleet</c> for version 1).</param>
/// <param name="ApprovedBy">Who approved it.</param>
[Immutable]
public sealed record PolicyVersionRecord(long Version, WorkloadClassPolicy Policy, DateTimeOffset AppliedAt, string? ProposalId,
    string ProposedBy, IReadOnlyList<string> ApprovedBy);

/// <summary>A request to propose a policy.</summary>
/// <param name="Policy">The complete proposed policy.</param>
/// <param name="Actor">The proposer.</param>
/// <param name="Reason">Why.</param>
/// <param name="EvalRef">Supporting eval, if any.</param>
/// <param name="BaseVersion">The policy version it was computed from; a different current version is a conflict.</param>
[Immutable]
public sealed record ProposalRequest(WorkloadClassPolicy Policy, Security.AdminActor Actor, string Reason, string? EvalRef, long BaseVersion);
