namespace ControlPlane.Server.AdminCli;

/// <summary>The exit codes of <c>controlplane admin</c> (listed in <c>--help</c> and <c>docs/governance.md</c>).</summary>
internal static class CliExit
{
    /// <summary>The command succeeded.</summary>
    public const int Ok = 0;

    /// <summary>Usage error: unknown command or option, a bad value (duration, role, id); nothing was sent.</summary>
    public const int Usage = 1;

    /// <summary>The API refused the request (a 4xx other than 401/403): its detail and field are printed to stderr.</summary>
    public const int Refused = 2;

    /// <summary>Not authenticated (401) or not allowed (403).</summary>
    public const int Denied = 3;

    /// <summary>The node is unreachable, timed out, or answered 5xx.</summary>
    public const int Unavailable = 4;

    /// <summary><c>audit verify</c> found a broken link in the audit chain.</summary>
    public const int AuditBroken = 5;

    /// <summary>The exit code table as the help text shows it.</summary>
    public const string Help =
        "Exit codes: 0 ok; 1 usage error (nothing sent); 2 refused by the API (4xx other than 401/403; detail and field on stderr); " +
        "3 not authenticated or not allowed (401/403); 4 unreachable, timeout or 5xx; 5 audit verify found a broken chain.";
}
