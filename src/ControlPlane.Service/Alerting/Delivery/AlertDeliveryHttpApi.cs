using ControlPlane.Service.Admin;
using ControlPlane.Service.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace ControlPlane.Service.Alerting.Delivery;

/// <summary>The admin routes of alert delivery (in the admin group: errors are problem+json naming the field).</summary>
internal static class AlertDeliveryHttpApi
{
    /// <summary>Maps <c>GET /alerts/deliveries</c> (viewer) and <c>POST /alerts/test</c> (operator).</summary>
    public static RouteGroupBuilder MapAlertDeliveries(this RouteGroupBuilder group)
    {
        group.MapGet("/alerts/deliveries", (AlertDeliveryOperations ops) => ops.GetDeliveriesAsync())
            .RequireRoles(Roles.Viewer)
            .WithName("GetAlertDeliveries").WithSummary("Per team: deliveries queued, delivered and failed, the last error, per receiver, and recent failures.")
            .Produces<DeliveriesView>();
        group.MapPost("/alerts/test", async (HttpRequest request, AlertDeliveryOperations ops) =>
            {
                var body = await AdminHttpApi.ReadObjectAsync(request, ["team", "reason"]);
                var result = await ops.SendTestAsync(AdminHttpApi.String(body, "team"), AdminHttpApi.String(body, "reason"), AdminActors.FromHttp(request.HttpContext));
                return Results.Accepted("/admin/v1/alerts/deliveries", result);
            })
            .RequireRoles(Roles.Operator)
            .WithName("SendTestAlert").WithSummary("Queue a test notice to every enabled receiver of a team.")
            .Produces<TestNoticeResult>(StatusCodes.Status202Accepted)
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        return group;
    }
}
