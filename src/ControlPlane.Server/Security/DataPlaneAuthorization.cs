using System.Collections.Concurrent;
using ControlPlane.Service.Security;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;

namespace ControlPlane.Server.Security;

/// <summary>
/// The data plane's authorization fast path. A proxy sends the same API key on every Route and ReportOutcome call; once
/// the standard pipeline (ASP.NET Core authentication and authorization, <see cref="ApiKeyAuthenticationHandler"/>) has
/// verified that key on this node, this check admits the next calls with the same key to an endpoint that needs only
/// <see cref="RequireRolesAttribute"/> roles by one lookup in the node's <see cref="ApiKeyCache"/> and a scan of the key's
/// roles, without the per-call handler, ticket, policy evaluation and authorization context of the standard pipeline
/// (about 5 µs of CPU per call, a third of Route's whole cost). It only ever admits: anything it does not recognise (no
/// or unknown key, a JWT, a missing role, an expired or revoked key, an endpoint with any other authorization metadata,
/// a connection on the admin port where rate limiting sits between authentication and authorization) falls through to
/// the standard pipeline, which decides, explains and audits. The same key cache serves both, so a revoked key stops on
/// both paths at once.
/// </summary>
internal sealed class DataPlaneAuthorization(ApiKeyCache keys)
{
    private static readonly string[][] AuthenticatedOnly = [];
    private readonly ConcurrentDictionary<Endpoint, string[][]?> _requirements = new();

    /// <summary>True when the call may proceed without the standard pipeline; its <see cref="HttpContext.User"/> is then
    /// the key's principal.</summary>
    public bool TryAuthorize(HttpContext context, bool onAdminPort)
    {
        if (onAdminPort || context.GetEndpoint() is not { } endpoint
            || !BearerToken.TryGet(context.Request.Headers, out var header, out var start))
        {
            return false;
        }

        var required = _requirements.GetOrAdd(endpoint, Requirements);
        if (required is null || !keys.TryAuthorizeKnown(header.AsSpan(start), required, out var principal))
        {
            return false;
        }

        context.User = principal;
        return true;
    }

    /// <summary>The role sets an endpoint needs (each: any one of its roles), or null when its authorization metadata is
    /// anything but <see cref="RequireRolesAttribute"/> (anonymous endpoints, policies, schemes): the standard pipeline
    /// handles those.</summary>
    internal static string[][]? Requirements(Endpoint endpoint)
    {
        var metadata = endpoint.Metadata;
        if (metadata.GetMetadata<IAllowAnonymous>() is not null
            || metadata.GetMetadata<AuthorizationPolicy>() is not null
            || metadata.GetMetadata<IAuthorizationRequirementData>() is not null)
        {
            return null;
        }

        var data = metadata.GetOrderedMetadata<IAuthorizeData>();
        if (data.Count == 0)
        {
            // The fallback policy: any authenticated caller.
            return AuthenticatedOnly;
        }

        var sets = new string[data.Count][];
        for (var i = 0; i < data.Count; i++)
        {
            if (data[i] is not RequireRolesAttribute roles)
            {
                return null;
            }

            sets[i] = [.. roles.Roles];
        }

        return sets;
    }
}
