using ControlPlane.Domain.Quotas;

namespace ControlPlane.Domain.Routing;

/// <summary>
/// The answer to a <see cref="RouteRequest"/>. The fallback chain is written to the span the caller passed
/// to <see cref="Router.Decide"/> (its first <see cref="FallbackCount"/> entries). To build the wire
/// <c>RouteDecision</c>: endpoint_id, provider, model, model_version and region come from
/// <see cref="RoutingSnapshot.EndpointAt"/>(<see cref="EndpointIndex"/>), route_reason from
/// <see cref="RouteReasonNames.ToWireName"/>, timeout_ms from <see cref="Timeout"/>, fallbacks from the
/// chain's endpoint ids, reservation from <see cref="Reservation"/>.
/// </summary>
/// <param name="EndpointIndex">The chosen endpoint's snapshot index, or -1 when there is none.</param>
/// <param name="Reason">Why.</param>
/// <param name="Timeout">Adaptive timeout budget for the attempt (zero when no endpoint was chosen).</param>
/// <param name="Reservation">Tokens and requests to reserve for the attempt.</param>
/// <param name="FallbackCount">How many entries of the caller's span hold the fallback chain.</param>
/// <param name="IsProbe">The endpoint is half-open and this request is one of its recovery probes.</param>
public readonly record struct RouteDecision(
    int EndpointIndex,
    RouteReason Reason,
    TimeSpan Timeout,
    TokenReservation Reservation,
    int FallbackCount,
    bool IsProbe)
{
    /// <summary>True when an endpoint was chosen.</summary>
    public bool HasEndpoint => EndpointIndex >= 0;
}
