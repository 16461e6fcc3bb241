using ControlPlane.Domain.Endpoints;

namespace ControlPlane.Domain.Breakers;

/// <summary>What a <see cref="BreakerEvent"/> records.</summary>
public enum BreakerEventKind : byte
{
    /// <summary>The automatic state changed (trip, half-open, close).</summary>
    StateChanged = 0,
    /// <summary>p95 latency stayed over the degraded factor: routing weight drops.</summary>
    Degraded = 1,
    /// <summary>p95 latency came back under the degraded factor.</summary>
    DegradationCleared = 2,
    /// <summary>A 429 started a cooling period (<see cref="EndpointHealthView.RateLimitedUntil"/>).</summary>
    RateLimited = 3,
    /// <summary>An admin override was set.</summary>
    OverrideSet = 4,
    /// <summary>An admin override was cleared by an admin.</summary>
    OverrideCleared = 5,
    /// <summary>An admin override reached its expiry.</summary>
    OverrideExpired = 6,
}

/// <summary>One transition of a breaker, to persist and push to every node.</summary>
/// <param name="Kind">What happened.</param>
/// <param name="From">Published state before (override applied).</param>
/// <param name="To">Published state after (override applied).</param>
/// <param name="Reason">Reason of the state after.</param>
/// <param name="At">When it happened (the exact due time for time-driven transitions).</param>
/// <param name="Detail">Human-readable numbers behind the transition.</param>
public sealed record BreakerEvent(BreakerEventKind Kind, BreakerState From, BreakerState To, BreakerReason Reason, DateTimeOffset At, string Detail);
