using ControlPlane.Service.Security;

namespace ControlPlane.Service.Governance;

/// <summary>The governance of one workload class's policy (key: the class name): its proposals (pending and recent),
/// its version history and its break-glass records. The only path to a class's policy: a proposal applies once every
/// required approval is in; a break-glass forces the class's mode at once. Every step is persisted before it is
/// answered and audited.</summary>
[Alias("cp.IPolicyProposalsGrain")]
public interface IPolicyProposalsGrain : IGrainWithStringKey
{
    /// <summary>Records a proposal (the proposer holds <c>policy-author</c>).</summary>
    [Alias("propose")]
    Task<PolicyProposal> ProposeAsync(ProposalRequest request);

    /// <summary>Proposes the previous version's policy (a revert is itself a two-person change).</summary>
    [Alias("revert")]
    Task<PolicyProposal> RevertAsync(AdminActor actor, string reason, string? evalRef);

    /// <summary>Approves a proposal; applies it when it was the last required approval. Idempotent per principal.</summary>
    [Alias("approve")]
    Task<PolicyProposal> ApproveAsync(string id, AdminActor actor, string? reason);

    /// <summary>Rejects a pending proposal.</summary>
    [Alias("reject")]
    Task<PolicyProposal> RejectAsync(string id, AdminActor actor, string reason);

    /// <summary>One proposal, or null.</summary>
    [Alias("get")]
    Task<PolicyProposal?> GetAsync(string id);

    /// <summary>The pending and recent proposals, oldest first.</summary>
    [Alias("list")]
    Task<IReadOnlyList<PolicyProposal>> ListAsync();

    /// <summary>Every applied version, oldest first.</summary>
    [Alias("history")]
    Task<IReadOnlyList<PolicyVersionRecord>> GetHistoryAsync();

    /// <summary>Forces the class's mode at once (an operator's break-glass).</summary>
    [Alias("break-glass")]
    Task<BreakGlassRecord> BreakGlassAsync(BreakGlassCommand command, AdminActor actor);

    /// <summary>Clears the active break-glass: the approved policy applies again.</summary>
    [Alias("break-glass.clear")]
    Task<BreakGlassRecord> ClearBreakGlassAsync(AdminActor actor, string reason);

    /// <summary>The break-glass records, oldest first.</summary>
    [Alias("break-glass.list")]
    Task<IReadOnlyList<BreakGlassRecord>> ListBreakGlassAsync();

    /// <summary>Marks a break-glass reviewed (a policy-approver other than the operator who set it).</summary>
    [Alias("break-glass.review")]
    Task<BreakGlassRecord> ReviewBreakGlassAsync(string id, AdminActor actor, string reason);
}
