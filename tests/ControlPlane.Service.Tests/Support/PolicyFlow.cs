using ControlPlane.Service.Admin;
using ControlPlane.Service.Governance;
using ControlPlane.Service.Security;

namespace ControlPlane.Service.Tests.Support;

/// <summary>A policy change the only way there is: proposed by a policy-author, approved by a different
/// policy-approver (and for a regulated class by a third person holding compliance-approver).</summary>
internal static class PolicyFlow
{
    /// <summary>Proposes <paramref name="command"/> as <paramref name="author"/>, approves it as
    /// <paramref name="approver"/> (and <c>{approver}-compliance</c> when the class needs it) and returns the class.</summary>
    public static async Task<ClassView> ChangeAsync(ServiceNode node, string name, PolicyCommand command, string author = "author",
        string approver = "approver", string? evalRef = null)
    {
        var proposal = await ProposeAsync(node, name, command, author, evalRef);
        await ApproveAllAsync(node, proposal, approver);
        return await node.Admin.GetClassAsync(name);
    }

    public static Task<ProposalView> ProposeAsync(ServiceNode node, string name, PolicyCommand command, string author = "author", string? evalRef = null) =>
        node.Policies.ProposeAsync(name, new ProposeCommand(command, evalRef), TestActors.Named(author, Roles.PolicyAuthor));

    /// <summary>Gives every approval the proposal requires, each from a different principal.</summary>
    public static async Task<ProposalView> ApproveAllAsync(ServiceNode node, ProposalView proposal, string approver = "approver")
    {
        var view = proposal;
        foreach (var role in proposal.Requires)
        {
            var who = role == Roles.PolicyApprover ? approver : $"{approver}-compliance";
            view = await node.Policies.ApproveAsync(proposal.Id, null, TestActors.Named(who, role));
        }

        return view;
    }
}
