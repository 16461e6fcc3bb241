using ControlPlane.Domain.Endpoints;

namespace ControlPlane.Service.DataPlane;

/// <summary>What the node's instruments read (<see cref="Telemetry.RouteInstruments"/>).</summary>
internal sealed partial class RoutingNode
{
    /// <summary>The node's view of an endpoint's breaker as an index into <see cref="Telemetry.RouteInstruments.BreakerStates"/>:
    /// an active override wins (forced_open, forced_closed, draining), else the pushed state.</summary>
    internal int BreakerStateIndex(int endpointIndex)
    {
        var view = _views[endpointIndex];
        if (view.Override is { } o && o.IsActive(_time.GetUtcNow()))
        {
            return o.Kind switch
            {
                OverrideKind.ForceOpen => 3,
                OverrideKind.ForceClosed => 4,
                _ => 5,
            };
        }

        return view.State switch
        {
            BreakerState.Open => 1,
            BreakerState.HalfOpen => 2,
            _ => 0,
        };
    }
}
