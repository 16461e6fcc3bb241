namespace ControlPlane.Service.Security;

/// <summary>Who made an admin call, as authenticated: recorded in every audit entry and checked by the grains that
/// enforce rules about people (the proposer of a policy change cannot approve it).</summary>
/// <param name="Principal">The authenticated principal: an API key's name or a JWT's subject.</param>
/// <param name="Roles">The roles the credential holds (<see cref="Security.Roles"/>).</param>
/// <param name="CredentialId">Which credential: an API key's id, or the JWT's issuer and token id.</param>
/// <param name="Source">The caller's address.</param>
/// <param name="RequestId">The request's id (ASP.NET Core trace identifier), for matching logs to audit entries.</param>
[Immutable]
public sealed record AdminActor(string Principal, string[] Roles, string CredentialId, string Source, string RequestId)
{
    /// <summary>True when the credential holds <paramref name="role"/>.</summary>
    public bool HasRole(string role) => Array.IndexOf(Roles, role) >= 0;

    /// <summary>The node itself acting (a timer, a signal, start-up): no credential, no address.</summary>
    public static AdminActor System(string what) => new($"system:{what}", [], "none", "local", "");
}
