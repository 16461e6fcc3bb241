using ControlPlane.Service.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace ControlPlane.Service.Alerting;

/// <summary>The alert routes of the admin API.</summary>
internal static class AlertHttpApi
{
    /// <summary>Maps <c>GET /alerts</c> (viewer) on the admin group.</summary>
    public static RouteGroupBuilder MapAlerts(this RouteGroupBuilder group)
    {
        group.MapGet("/alerts", (string? state, FleetCatalog catalog, IGrainFactory grains) => new AlertOperations(catalog, grains).ListAsync(state))
            .RequireRoles(Roles.Viewer).WithName("GetAlerts")
            .WithSummary("Alerts of every endpoint and class: state=active (default: pending and firing), pending, firing, resolved or all.")
            .ProducesProblem(StatusCodes.Status400BadRequest);
        return group;
    }
}
