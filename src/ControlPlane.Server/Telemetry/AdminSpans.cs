using System.Diagnostics;
using ControlPlane.Service.Telemetry;

namespace ControlPlane.Server.Telemetry;

/// <summary>One <c>controlplane.admin</c> span per admin action (HTTP admin API and gRPC Admin, on the admin listener),
/// a child of the ASP.NET Core request span: the action (method and route template, or the gRPC method), its target
/// (the route's endpoint id or class name), the principal and the HTTP status. Nothing is done when the span is not
/// sampled.</summary>
internal static class AdminSpans
{
    /// <summary>The span name.</summary>
    public const string SpanName = "controlplane.admin";

    /// <summary>Longest target id put on a span (fleet ids are shorter; anything longer is cut).</summary>
    private const int MaxTargetLength = 128;

    public static async Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        if (context.GetEndpoint() is not RouteEndpoint endpoint || !IsAdmin(endpoint))
        {
            await next(context).ConfigureAwait(false);
            return;
        }

        using var activity = ControlPlaneTelemetry.Source.StartActivity(SpanName);
        if (activity is null)
        {
            await next(context).ConfigureAwait(false);
            return;
        }

        var grpc = context.Request.ContentType?.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase) == true;
        activity.SetTag("controlplane.admin.action", grpc ? endpoint.RoutePattern.RawText : context.Request.Method + " " + endpoint.RoutePattern.RawText);
        if (Target(context, "id") is { } id)
        {
            activity.SetTag(ControlPlaneTelemetry.Keys.Endpoint, id);
        }

        if (Target(context, "name") is { } name)
        {
            activity.SetTag(ControlPlaneTelemetry.Keys.WorkloadClass, name);
        }

        try
        {
            await next(context).ConfigureAwait(false);
        }
        catch (Exception error)
        {
            activity.SetStatus(ActivityStatusCode.Error, error.GetType().Name);
            throw;
        }
        finally
        {
            if (context.User.Identity is { IsAuthenticated: true, Name: { } principal })
            {
                activity.SetTag("enduser.id", principal);
            }

            activity.SetTag("http.response.status_code", context.Response.StatusCode);
            if (context.Response.StatusCode >= 400)
            {
                activity.SetStatus(ActivityStatusCode.Error);
            }
        }
    }

    private static bool IsAdmin(RouteEndpoint endpoint) =>
        endpoint.RoutePattern.RawText is { } raw && (raw.StartsWith("/admin/", StringComparison.Ordinal) || raw.StartsWith("/controlplane.v1.Admin/", StringComparison.Ordinal));

    private static string? Target(HttpContext context, string key) =>
        context.GetRouteValue(key) is string value && value.Length > 0 ? value[..Math.Min(value.Length, MaxTargetLength)] : null;
}
