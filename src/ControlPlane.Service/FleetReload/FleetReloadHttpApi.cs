using ControlPlane.Service.Admin;
using ControlPlane.Service.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace ControlPlane.Service.FleetReload;

/// <summary><c>POST /admin/v1/fleet/reload</c> {reason} (role admin) → {version, source, changes}; a refused reload
/// answers 400 problem+json listing every reason under <c>errors</c> (by field), nothing changed.</summary>
internal static class FleetReloadHttpApi
{
    /// <summary>The reload's request body.</summary>
    /// <param name="Reason">Why the fleet is reloaded (required).</param>
    public sealed record ReloadCommand(string Reason);

    /// <summary>The reload's answer.</summary>
    /// <param name="Version">The fleet generation in force.</param>
    /// <param name="Source">The file it came from.</param>
    /// <param name="Changes">What changed (<c>field: before -> after</c>); empty when the file matched.</param>
    public sealed record ReloadView(long Version, string Source, IReadOnlyList<string> Changes);

    /// <summary>Maps the route on the admin group.</summary>
    public static RouteGroupBuilder MapFleetReload(this RouteGroupBuilder group)
    {
        group.MapPost("/fleet/reload", async (HttpRequest request, FleetReloader reloader) =>
            {
                var body = await AdminHttpApi.ReadObjectAsync(request, ["reason"]);
                try
                {
                    var outcome = await reloader.ReloadAsync(AdminActors.FromHttp(request.HttpContext), AdminHttpApi.String(body, "reason"));
                    return Results.Ok(new ReloadView(outcome.Version, outcome.Source, outcome.Changes));
                }
                catch (FleetReloadRefusedException refused)
                {
                    return Problem(refused);
                }
            })
            .WithName("ReloadFleet").WithSummary("Reload the fleet file: validated completely, then applied on every node as one versioned change.")
            .Accepts<ReloadCommand>("application/json")
            .Produces<ReloadView>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .RequireRoles(Roles.Admin);
        return group;
    }

    private static IResult Problem(FleetReloadRefusedException refused)
    {
        var errors = refused.Problems.GroupBy(p => p.Field, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Select(p => p.Message).ToArray(), StringComparer.Ordinal);
        return Results.Problem(
            detail: refused.Message,
            statusCode: StatusCodes.Status400BadRequest,
            title: "Fleet reload refused",
            extensions: new Dictionary<string, object?>
            {
                ["field"] = refused.Problems.Count > 0 ? refused.Problems[0].Field : "fleet",
                ["errors"] = errors,
            });
    }

    /// <summary>Registers the reload's services: the reloader and the node's fleet watcher (every node, silo or client).</summary>
    public static IServiceCollection AddFleetReload(this IServiceCollection services)
    {
        services.AddSingleton<FleetReloader>();
        services.AddSingleton<FleetWatcher>();
        services.AddHostedService(sp => sp.GetRequiredService<FleetWatcher>());
        return services;
    }
}
