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

    /// <summary>Throws <see cref="AdminErrorKind.Forbidden"/> when <paramref name="actor"/> approves with an API key
    /// (<paramref name="credential"/>, the key its <see cref="AdminActor.CredentialId"/> names; null for any other
    /// credential) that the proposer or another approver of the same proposal created: a second identity minted by one
    /// person is still that person, so it fills no second place of the two-person (or three-person) rule.</summary>
    public static void RequireIndependentCredential(PolicyProposal proposal, AdminActor actor, ApiKeyRecord? credential)
    {
        if (credential is null || credential.Id != actor.CredentialId)
        {
            return;
        }

        if (string.Equals(credential.CreatedBy, proposal.ProposedBy, StringComparison.Ordinal))
        {
            throw new AdminException(AdminErrorKind.Forbidden, "approver",
                $"the approver's API key '{credential.Id}' was created by the proposer '{proposal.ProposedBy}', who cannot approve their own change");
        }

        if (proposal.Approvals.FirstOrDefault(a => string.Equals(a.Principal, credential.CreatedBy, StringComparison.Ordinal)) is { } other)
        {
            throw new AdminException(AdminErrorKind.Forbidden, "approver",
                $"the approver's API key '{credential.Id}' was created by '{other.Principal}', who already approved proposal {proposal.Id} as {other.Role}");
        }
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
