using System.Globalization;
using ControlPlane.Service.Admin;
using ControlPlane.Service.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace ControlPlane.Service.Dashboard;

/// <summary>The live dashboard on the admin listener: the page under <c>/ui/</c> (static, anonymous: it holds no data),
/// <c>/</c> redirecting there, and its data routes under <c>/admin/v1/dashboard</c> (role viewer).</summary>
internal static class DashboardHttpApi
{
    /// <summary>The longest history a request may ask for, in minutes.</summary>
    internal const int MaxHistoryMinutes = 60;

    /// <summary>Maps the page and the data routes.</summary>
    public static IEndpointRouteBuilder MapDashboard(this IEndpointRouteBuilder routes)
    {
        var assets = routes.ServiceProvider.GetRequiredService<DashboardAssets>();
        routes.MapGet("/", () => Results.Redirect("/ui/")).AllowAnonymous().ExcludeFromDescription();
        // "/ui" and "/ui/" both match; the page's relative links need the slash.
        routes.MapGet("/ui/{file?}", (string? file, HttpContext context) => file is null && context.Request.Path.Value?.EndsWith('/') != true
                ? Results.Redirect("/ui/").ExecuteAsync(context)
                : assets.Serve(file ?? DashboardAssets.Index, context))
            .AllowAnonymous().ExcludeFromDescription();

        var group = routes.MapGroup("/admin/v1/dashboard").WithTags("dashboard");
        group.AddEndpointFilter(async (context, next) =>
        {
            try
            {
                return await next(context);
            }
            catch (AdminException error)
            {
                return AdminHttpApi.Problem(error);
            }
            catch (Exception error) when (Grains.GrainCallFailure.IsUnavailable(error))
            {
                return Results.Problem(detail: error.Message, statusCode: StatusCodes.Status503ServiceUnavailable, title: "Unavailable");
            }
        });
        group.MapGet("/snapshot", (DashboardSnapshots snapshots, HttpContext context) => snapshots.GetAsync(context.RequestAborted))
            .RequireRoles(Roles.Viewer).WithName("GetDashboardSnapshot")
            .WithSummary("Fleet grid, class cards, firing alerts and the latest audit entries, as the dashboard shows them.");
        group.MapGet("/history", (HttpRequest request, DashboardHistoryRing ring, TimeProvider time) =>
                ring.Since(time.GetUtcNow() - TimeSpan.FromMinutes(Minutes(request))))
            .RequireRoles(Roles.Viewer).WithName("GetDashboardHistory")
            .WithSummary("This node's samples of the dashboard figures (every 10 s) over the last ?minutes= (1-60, default 60).")
            .ProducesProblem(StatusCodes.Status400BadRequest);
        group.MapGet("/stream", (HttpContext context, DashboardStream stream) => stream.ServeAsync(context))
            .RequireRoles(Roles.Viewer).WithName("StreamDashboard")
            .WithSummary("Server-sent events: a snapshot event at once and on change (at most one a second), heartbeats; 503 past the node's stream limit.")
            .Produces(StatusCodes.Status200OK, contentType: DashboardStream.ContentType).ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        return routes;
    }

    /// <summary>Adds the dashboard's services: the snapshot builder, the history ring and its sampler, the stream.</summary>
    public static IServiceCollection AddControlPlaneDashboard(this IServiceCollection services, Action<DashboardOptions>? configure = null)
    {
        services.AddOptions<DashboardOptions>().Configure(o => configure?.Invoke(o)).Validate(o =>
        {
            o.Validate();
            return true;
        }).ValidateOnStart();
        services.AddSingleton<DashboardAssets>();
        services.AddSingleton<DashboardSnapshots>();
        services.AddSingleton<DashboardHistoryRing>();
        services.AddSingleton<DashboardStream>();
        services.AddSingleton<DashboardSampler>();
        services.AddHostedService(sp => sp.GetRequiredService<DashboardSampler>());
        return services;
    }

    private static int Minutes(HttpRequest request)
    {
        var values = request.Query["minutes"];
        if (values.Count == 0)
        {
            return MaxHistoryMinutes;
        }

        if (values.Count > 1 || !int.TryParse(values[0], NumberStyles.None, CultureInfo.InvariantCulture, out var minutes)
            || minutes is < 1 or > MaxHistoryMinutes)
        {
            throw new AdminException(AdminErrorKind.Invalid, "minutes", $"must be one whole number between 1 and {MaxHistoryMinutes}");
        }

        return minutes;
    }
}
