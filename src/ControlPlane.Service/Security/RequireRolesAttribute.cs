using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace ControlPlane.Service.Security;

/// <summary>The roles that may call an admin route or a gRPC method (any one of them suffices). On a gRPC service
/// method as an attribute; on a minimal-API route through <see cref="RequireRolesExtensions.RequireRoles{T}"/>. It is
/// ASP.NET Core authorization data (<see cref="IAuthorizeData"/>): the authorization middleware refuses a caller without
/// credentials (401 / UNAUTHENTICATED) or without one of the roles (403 / PERMISSION_DENIED).</summary>
[AttributeUsage(AttributeTargets.Method | AttributeTargets.Class, AllowMultiple = false)]
public sealed class RequireRolesAttribute : Attribute, IAuthorizeData
{
    /// <summary>Any one of <paramref name="roles"/> may call.</summary>
    public RequireRolesAttribute(params string[] roles)
    {
        ArgumentNullException.ThrowIfNull(roles);
        if (roles.Length == 0 || roles.Any(r => !Security.Roles.IsKnown(r)))
        {
            throw new ArgumentException($"unknown or missing role in [{string.Join(", ", roles)}]", nameof(roles));
        }

        Roles = roles;
        RolesList = string.Join(",", roles);
    }

    /// <summary>The roles, any one of which may call.</summary>
    public IReadOnlyList<string> Roles { get; }

    private string RolesList { get; }

    string? IAuthorizeData.Policy { get => null; set => throw new NotSupportedException(); }

    string? IAuthorizeData.Roles { get => RolesList; set => throw new NotSupportedException(); }

    // No scheme named: the authentication middleware's default scheme already set the caller (naming one would make the
    // policy evaluator authenticate again and merge a new principal on every call, the data plane's included).
    string? IAuthorizeData.AuthenticationSchemes { get => null; set => throw new NotSupportedException(); }
}

/// <summary>Puts <see cref="RequireRolesAttribute"/> on minimal-API routes.</summary>
public static class RequireRolesExtensions
{
    /// <summary>Only callers holding one of <paramref name="roles"/> may call the route.</summary>
    public static T RequireRoles<T>(this T builder, params string[] roles)
        where T : IEndpointConventionBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.WithMetadata(new RequireRolesAttribute(roles));
    }
}
