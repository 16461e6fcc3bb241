using ControlPlane.Domain.Endpoints;

namespace ControlPlane.Domain.Breakers;

/// <summary>The persisted state of an <see cref="EndpointBreaker"/> (see <see cref="EndpointBreaker.Export"/>).
/// <paramref name="RampHealthy"/> is the healthy ramp time counted since closing and <paramref name="RampCheckedAt"/>
/// the evaluation that last counted it (a snapshot written before they existed carries their defaults: the time since
/// closing counts as healthy once). The <c>Gate*</c> members are the recovery gate's progress since the cooldown ended
/// (<see cref="RecoveryGateOptions"/>; zero without a gate or before one was configured).</summary>
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
    AdminOverride? Override,
    TimeSpan RampHealthy = default,
    DateTimeOffset RampCheckedAt = default,
    int GatePasses = 0,
    int GateProbes = 0,
    int GateConsecutive = 0,
    DateTimeOffset? GatePassedAt = null);
