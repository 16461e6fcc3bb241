using System.Diagnostics;
using System.Security.Claims;
using Grpc.Core;
using Microsoft.AspNetCore.Http;

namespace ControlPlane.Service.Security;

/// <summary>Builds the <see cref="AdminActor"/> of an HTTP or gRPC call from its authenticated principal: the API key's
/// name or the JWT's subject, the roles it holds, the credential's id, the caller's address and the trace id. Nothing
/// the caller types in a header is read (an <c>X-Actor</c> header is ignored).</summary>
internal static class AdminActors
{
    /// <summary>The actor of an HTTP admin call.</summary>
    public static AdminActor FromHttp(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var user = context.User;
        var requestId = Activity.Current?.TraceId.ToString() ?? context.TraceIdentifier;
        if (user.Identity?.IsAuthenticated != true)
        {
            // Unreachable behind the authorization middleware (every admin route needs a credential).
            return new AdminActor("anonymous", [], "anonymous", Source(context), requestId);
        }

        return new AdminActor(
            user.Identity.Name ?? "unknown",
            [.. user.FindAll(SecurityClaims.Roles).Select(c => c.Value).Where(Roles.IsKnown).Distinct(StringComparer.Ordinal)],
            user.FindFirst(SecurityClaims.Credential)?.Value ?? "unknown",
            Source(context),
            requestId);
    }

    /// <summary>The actor of a gRPC admin call.</summary>
    public static AdminActor FromGrpc(ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return FromHttp(context.GetHttpContext());
    }

    /// <summary>What <c>GET /whoami</c> shows of the caller.</summary>
    public static WhoAmIView WhoAmI(ClaimsPrincipal user)
    {
        ArgumentNullException.ThrowIfNull(user);
        return new WhoAmIView(user.Identity?.Name ?? "anonymous",
            [.. user.FindAll(SecurityClaims.Roles).Select(c => c.Value).Where(Roles.IsKnown).Distinct(StringComparer.Ordinal)],
            user.FindFirst(SecurityClaims.Credential)?.Value ?? "anonymous",
            user.FindFirst(SecurityClaims.Kind)?.Value ?? "none");
    }

    private static string Source(HttpContext context) =>
        context.Connection.RemoteIpAddress is { } address ? $"{address}:{context.Connection.RemotePort}" : "local";
}

/// <summary>The caller as authenticated.</summary>
/// <param name="Principal">The API key's name or the JWT's subject.</param>
/// <param name="Roles">The roles it holds.</param>
/// <param name="CredentialId">The API key's id, or <c>jwt:ISSUER:TOKEN-ID</c>.</param>
/// <param name="Kind"><c>api-key</c> or <c>jwt</c>.</param>
public sealed record WhoAmIView(string Principal, string[] Roles, string CredentialId, string Kind);
