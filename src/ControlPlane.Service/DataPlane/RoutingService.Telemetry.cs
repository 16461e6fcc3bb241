using System.Diagnostics;
using ControlPlane.Contracts.V1;
using Keys = ControlPlane.Service.Telemetry.ControlPlaneTelemetry.Keys;

namespace ControlPlane.Service.DataPlane;

/// <summary>The data plane's spans (<c>docs/telemetry.md</c>): <c>controlplane.route</c>,
/// <c>controlplane.report_outcome</c> and <c>controlplane.report_outcomes</c>. Tagged only when sampled, and only with
/// what the node validated (a known class and endpoint, a route reason).</summary>
internal sealed partial class RoutingService
{
    internal const string RouteSpan = "controlplane.route";
    internal const string ReportSpan = "controlplane.report_outcome";
    internal const string ReportBatchSpan = "controlplane.report_outcomes";

    private static void TagRoute(Activity activity, RouteRequest request, Task<RouteDecision> decision)
    {
        // The class was validated by Route (an unknown one throws before this).
        activity.SetTag(Keys.WorkloadClass, request.WorkloadClass);
        activity.SetTag("controlplane.attempt", request.Attempt);
        if (!decision.IsCompletedSuccessfully)
        {
            activity.SetTag(Keys.RouteReason, "queue_only_hold");
            return;
        }

        var reply = decision.Result;
        activity.SetTag(Keys.Endpoint, reply.EndpointId.Length > 0 ? reply.EndpointId : "none");
        activity.SetTag(Keys.RouteReason, reply.RouteReason);
        activity.SetTag("controlplane.decision_id", reply.DecisionId);
    }

    private static void TagOutcome(Activity activity, Outcome outcome)
    {
        activity.SetTag(Keys.WorkloadClass, outcome.WorkloadClass);
        activity.SetTag(Keys.Endpoint, outcome.EndpointId);
        activity.SetTag(Keys.OutcomeStatus, Telemetry.RouteInstruments.StatusName((Domain.Endpoints.OutcomeStatus)(outcome.Status - 1)));
    }
}
