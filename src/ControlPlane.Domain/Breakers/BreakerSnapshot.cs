using ControlPlane.Domain.Endpoints;

namespace ControlPlane.Domain.Breakers;

/// <summary>The persisted state of an <see cref="EndpointBreaker"/> (see <see cref="EndpointBreaker.Export"/>).</summary>
public sealed record BreakerSnapshot(
    BreakerState State,
    BreakerReason Reason,
    DateTimeOffset Since,
    DateTimeOffset OpenUntil,
    DateTimeOffset Clock,
    int Trips,
    int ConsecutiveFailures,
    bool Degraded,
    int DegradedPeriods,
    int ClearPeriods,
    int OpenLatencyPeriods,
    int ProbesAcquired,
    int ProbeSuccesses,
    DateTimeOffset LastProbeAt,
    DateTimeOffset? RampStart,
    DateTimeOffset? RateLimitedUntil,
    AdminOverride? Override);
