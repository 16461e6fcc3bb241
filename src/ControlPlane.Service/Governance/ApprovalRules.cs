using ControlPlane.Service.Admin;
using ControlPlane.Service.Security;

namespace ControlPlane.Service.Governance;

/// <summary>Who must approve a policy change, and which of the required roles an approver fills. Every required role
/// is filled by a different principal, none of them the proposer: a regulated class's change needs three people
/// (author, policy approver, compliance approver).</summary>
internal static class ApprovalRules
{
    /// <summary>The roles that must each approve a change to a class.</summary>
    public static IReadOnlyList<string> Required(bool regulated) =>
        regulated ? [Roles.PolicyApprover, Roles.ComplianceApprover] : [Roles.PolicyApprover];

    /// <summary>The required role <paramref name="actor"/> fills on <paramref name="proposal"/> (the first still missing
    /// one it holds); throws <see cref="AdminErrorKind.Forbidden"/> when the actor may not approve it.</summary>
    public static string RoleFilledBy(PolicyProposal proposal, AdminActor actor)
    {
        if (string.Equals(actor.Principal, proposal.ProposedBy, StringComparison.Ordinal))
        {
            throw new AdminException(AdminErrorKind.Forbidden, "approver", "the proposer cannot approve their own change");
        }

        var missing = Missing(proposal);
        foreach (var role in missing)
        {
            if (actor.HasRole(role))
            {
                return role;
            }
        }

        throw new AdminException(AdminErrorKind.Forbidden, "approver",
            $"approving needs the {string.Join(" or ", missing)} role (still missing on proposal {proposal.Id})");
    }

    /// <summary>The required roles not yet filled.</summary>
    public static List<string> Missing(PolicyProposal proposal) =>
        [.. proposal.Requires.Where(r => !proposal.Approvals.Any(a => a.Role == r))];

    /// <summary>True when every required role has approved.</summary>
    public static bool Complete(PolicyProposal proposal) => Missing(proposal).Count == 0;

    /// <summary>Throws <see cref="AdminErrorKind.Forbidden"/> unless <paramref name="actor"/> holds one of <paramref name="roles"/>.</summary>
    public static void Require(AdminActor actor, string what, params string[] roles)
    {
        if (!roles.Any(actor.HasRole))
        {
            throw new AdminException(AdminErrorKind.Forbidden, "actor", $"{what} needs the {string.Join(" or ", roles)} role");
        }
    }
}
