using ControlPlane.Contracts.V1;
using ControlPlane.Domain.Endpoints;
using ControlPlane.Domain.Routing;
using ControlPlane.Service.Grains;

namespace ControlPlane.Service.Federation;

/// <summary>An endpoint's routing state as its home region published it, adopted by the endpoint's grain in a follower
/// region (persisted there, so a restarted follower routes on it: fail-static).</summary>
/// <param name="HomeVersion">The home grain's publication version; a follower adopts only a newer one.</param>
/// <param name="View">Breaker state, reason and override as the home region has them.</param>
/// <param name="Load">The home region's load figures.</param>
[Immutable]
public sealed record FollowedEndpoint(long HomeVersion, EndpointHealthView View, EndpointLoad Load);

/// <summary>Conversions between the grains' <see cref="EndpointStatus"/> and the feed's <see cref="FederatedEndpointState"/>.</summary>
internal static class FederatedStates
{
    public static FederatedEndpointState ToWire(EndpointStatus status)
    {
        var view = status.View;
        var wire = new FederatedEndpointState
        {
            EndpointId = status.EndpointId,
            Version = status.Version,
            State = (FederatedBreakerState)(int)view.State,
            Reason = (int)view.Reason,
            Degraded = view.Degraded,
            TrafficFraction = view.TrafficFraction,
            RateLimitedUntilUnixMs = view.RateLimitedUntil?.ToUnixTimeMilliseconds() ?? 0,
            LatencyEwmaMs = status.Load.LatencyEwmaMs,
            ErrorRate = status.Load.ErrorRate,
            P50LatencyMs = status.Load.P50LatencyMs,
            P95LatencyMs = status.Load.P95LatencyMs,
            PerOutputTokenMs = status.Load.PerOutputTokenMs,
            P95RequestLatencyMs = status.Load.P95RequestLatencyMs,
            // Versions are at least the publishing grain's wall clock in µs (PublicationVersion).
            PublishedUnixMs = status.Version / 1000,
        };
        if (view.Override is { } o)
        {
            wire.OverrideKind = (FederatedOverrideKind)(int)o.Kind;
            wire.OverrideActor = o.Actor;
            wire.OverrideReason = o.Reason;
            wire.OverrideSetUnixMs = o.SetAt.ToUnixTimeMilliseconds();
            wire.OverrideExpiresUnixMs = o.ExpiresAt?.ToUnixTimeMilliseconds() ?? 0;
        }

        return wire;
    }

    /// <summary>The state a follower adopts; null with a reason when the message is malformed.</summary>
    public static FollowedEndpoint? FromWire(FederatedEndpointState wire, out string error)
    {
        error = "";
        if (wire.Version <= 0 || !Enum.IsDefined((BreakerState)(int)wire.State) || !Enum.IsDefined((BreakerReason)wire.Reason)
            || !double.IsFinite(wire.TrafficFraction) || wire.TrafficFraction is < 0 or > 1
            || wire.OverrideKind is < FederatedOverrideKind.None or > FederatedOverrideKind.Drain
            || wire.OverrideActor.Length > 256 || wire.OverrideReason.Length > 1024)
        {
            error = $"endpoint '{wire.EndpointId}': malformed state (version {wire.Version})";
            return null;
        }

        AdminOverride? adminOverride = wire.OverrideKind == FederatedOverrideKind.None ? null : new AdminOverride(
            (OverrideKind)(int)wire.OverrideKind, wire.OverrideActor, wire.OverrideReason,
            DateTimeOffset.FromUnixTimeMilliseconds(Math.Clamp(wire.OverrideSetUnixMs, 0, 253402300799999)),
            wire.OverrideExpiresUnixMs > 0 ? DateTimeOffset.FromUnixTimeMilliseconds(Math.Clamp(wire.OverrideExpiresUnixMs, 0, 253402300799999)) : null);
        var view = new EndpointHealthView
        {
            State = (BreakerState)(int)wire.State,
            Reason = (BreakerReason)wire.Reason,
            Degraded = wire.Degraded,
            TrafficFraction = wire.TrafficFraction,
            RateLimitedUntil = wire.RateLimitedUntilUnixMs > 0 ? DateTimeOffset.FromUnixTimeMilliseconds(Math.Clamp(wire.RateLimitedUntilUnixMs, 0, 253402300799999)) : null,
            Override = adminOverride,
        };
        var load = new EndpointLoad
        {
            LatencyEwmaMs = Finite(wire.LatencyEwmaMs),
            ErrorRate = Finite(wire.ErrorRate),
            P50LatencyMs = Finite(wire.P50LatencyMs),
            P95LatencyMs = Finite(wire.P95LatencyMs),
            PerOutputTokenMs = Finite(wire.PerOutputTokenMs),
            P95RequestLatencyMs = Finite(wire.P95RequestLatencyMs),
        };
        return new FollowedEndpoint(wire.Version, view, load);
    }

    private static double Finite(double value) => double.IsFinite(value) && value >= 0 ? value : 0;
}
