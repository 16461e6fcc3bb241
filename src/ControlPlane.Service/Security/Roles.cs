namespace ControlPlane.Service.Security;

/// <summary>The roles a credential (API key or JWT) can hold. Authorization is per action: each admin route, gRPC Admin
/// method and data-plane method names the roles that may call it (<c>docs/security.md</c> has the table). A role grants
/// only its own actions: <see cref="Admin"/> manages keys and the fleet, it does not imply the others.</summary>
public static class Roles
{
    /// <summary>Reads fleet, endpoint, class, catalog, proposal and audit views.</summary>
    public const string Viewer = "viewer";

    /// <summary>Forces and drains breakers (incident response); break-glass on a class's mode.</summary>
    public const string Operator = "operator";

    /// <summary>Proposes fallback-policy changes and reverts.</summary>
    public const string PolicyAuthor = "policy-author";

    /// <summary>Approves or rejects others' policy proposals.</summary>
    public const string PolicyApprover = "policy-approver";

    /// <summary>The second approval a regulated class's policy change needs.</summary>
    public const string ComplianceApprover = "compliance-approver";

    /// <summary>Creates and revokes keys, reloads the fleet.</summary>
    public const string Admin = "admin";

    /// <summary>Routes, reports outcomes and watches the routing table (a proxy).</summary>
    public const string DataPlane = "data-plane";

    /// <summary>Reports outcomes only (an eval runner, a batch reporter).</summary>
    public const string Reporter = "reporter";

    /// <summary>A peer region's federation link: the change feed, forwarded outcomes and overrides (<c>docs/regions.md</c>).</summary>
    public const string Federation = "federation";

    /// <summary>Every role, in the order the docs list them.</summary>
    public static readonly IReadOnlyList<string> All =
        [Viewer, Operator, PolicyAuthor, PolicyApprover, ComplianceApprover, Admin, DataPlane, Reporter, Federation];

    /// <summary>True for one of <see cref="All"/> (exact, lower case).</summary>
    public static bool IsKnown(string role) => All.Contains(role, StringComparer.Ordinal);
}
