using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Net.Http.Headers;

namespace ControlPlane.Service.Security;

/// <summary>Answers refused calls and counts them for the audit trail (<see cref="AuthDenials"/>). Nothing behind the
/// endpoint runs. HTTP gets 401 (with <c>WWW-Authenticate: Bearer</c>) or 403 as problem+json; a gRPC call gets a
/// trailers-only answer with UNAUTHENTICATED or PERMISSION_DENIED, which every gRPC client reads as such.</summary>
internal sealed class AuditedAuthorizationResultHandler(AuthDenials denials) : IAuthorizationMiddlewareResultHandler
{
    private readonly AuthorizationMiddlewareResultHandler _default = new();

    public async Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(authorizeResult);
        if (!authorizeResult.Challenged && !authorizeResult.Forbidden)
        {
            await _default.HandleAsync(next, context, policy, authorizeResult);
            return;
        }

        var authenticated = context.User.Identity?.IsAuthenticated == true;
        var forbidden = authorizeResult.Forbidden && authenticated;
        var action = Action(context);
        denials.Record(new DenialKey(
            authenticated ? context.User.Identity!.Name ?? "unknown" : "anonymous",
            authenticated ? context.User.FindFirst(SecurityClaims.Credential)?.Value ?? "unknown" : "anonymous",
            context.Connection.RemoteIpAddress?.ToString() ?? "local",
            action,
            forbidden ? "forbidden" : "unauthenticated"));
        var detail = forbidden
            ? $"{action} needs one of the roles: {string.Join(", ", RequiredRoles(context))}"
            : "credentials required: Authorization: Bearer <API key or JWT>";
        if (IsGrpc(context))
        {
            context.Response.StatusCode = StatusCodes.Status200OK;
            context.Response.ContentType = "application/grpc";
            context.Response.Headers["grpc-status"] = forbidden ? "7" : "16";
            context.Response.Headers["grpc-message"] = Uri.EscapeDataString(detail);
            return;
        }

        if (!forbidden)
        {
            context.Response.Headers[HeaderNames.WWWAuthenticate] = "Bearer";
        }

        var status = forbidden ? StatusCodes.Status403Forbidden : StatusCodes.Status401Unauthorized;
        await Results.Problem(detail: detail, statusCode: status, title: forbidden ? "Forbidden" : "Unauthorized",
            extensions: new Dictionary<string, object?>
            {
                ["field"] = forbidden ? "roles" : "authorization",
                ["errors"] = new Dictionary<string, string[]> { [forbidden ? "roles" : "authorization"] = [detail] },
            }).ExecuteAsync(context);
    }

    private static bool IsGrpc(HttpContext context) =>
        context.Request.ContentType?.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase) == true;

    // Bounded by the application's routes: the route pattern, not the request path (which the caller chooses).
    private static string Action(HttpContext context) => context.GetEndpoint() switch
    {
        RouteEndpoint route when IsGrpc(context) => route.RoutePattern.RawText ?? "grpc",
        RouteEndpoint route => $"{context.Request.Method switch { "GET" or "POST" or "PUT" or "DELETE" or "PATCH" or "HEAD" => context.Request.Method, _ => "OTHER" }} {route.RoutePattern.RawText}",
        _ => "unmatched",
    };

    private static IEnumerable<string> RequiredRoles(HttpContext context) =>
        context.GetEndpoint()?.Metadata.GetOrderedMetadata<RequireRolesAttribute>().SelectMany(a => a.Roles) ?? [];
}
