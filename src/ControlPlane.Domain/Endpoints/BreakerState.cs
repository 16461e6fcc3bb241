namespace ControlPlane.Domain.Endpoints;

/// <summary>Circuit breaker state of an endpoint (or of an endpoint for one workload class).</summary>
public enum BreakerState : byte
{
    /// <summary>Traffic flows (possibly ramping back up after a recovery).</summary>
    Closed = 0,
    /// <summary>No traffic until the cooldown ends.</summary>
    Open = 1,
    /// <summary>A bounded number of probes are admitted to test recovery.</summary>
    HalfOpen = 2,
}

/// <summary>Why the breaker (or an override) is in its current state.</summary>
public enum BreakerReason : byte
{
    /// <summary>Healthy.</summary>
    None = 0,
    /// <summary>Too many consecutive failures.</summary>
    ConsecutiveFailures = 1,
    /// <summary>Error rate over the window above the threshold.</summary>
    ErrorRate = 2,
    /// <summary>p95 latency far above its baseline.</summary>
    Latency = 3,
    /// <summary>Quality pass rate dropped below its baseline.</summary>
    Quality = 4,
    /// <summary>A half-open probe failed.</summary>
    ProbeFailed = 5,
    /// <summary>An admin forced the state.</summary>
    Forced = 6,
}

/// <summary>What an admin override does.</summary>
public enum OverrideKind : byte
{
    /// <summary>Force the breaker open: never route here.</summary>
    ForceOpen = 1,
    /// <summary>Force the breaker closed: route here whatever the signals say.</summary>
    ForceClosed = 2,
    /// <summary>Take the endpoint out of rotation gracefully (no new traffic, in-flight finishes).</summary>
    Drain = 3,
}

/// <summary>An admin override; wins over automatic state until cleared or expired.</summary>
/// <param name="Kind">What it does.</param>
/// <param name="Actor">Who set it.</param>
/// <param name="Reason">Why.</param>
/// <param name="SetAt">When it was set.</param>
/// <param name="ExpiresAt">When it stops applying, if ever.</param>
public sealed record AdminOverride(OverrideKind Kind, string Actor, string Reason, DateTimeOffset SetAt, DateTimeOffset? ExpiresAt)
{
    /// <summary>True while the override applies at <paramref name="now"/>.</summary>
    public bool IsActive(DateTimeOffset now) => ExpiresAt is null || now < ExpiresAt.Value;
}

/// <summary>The routing-relevant view of one endpoint's health, as the breaker publishes it to the
/// decision function (and, later, to every node's routing snapshot).</summary>
public readonly record struct EndpointHealthView
{
    /// <summary>Breaker state after applying any active override.</summary>
    public BreakerState State { get; init; }
    /// <summary>Why it is in that state.</summary>
    public BreakerReason Reason { get; init; }
    /// <summary>p95 latency has been above its degraded threshold; routing weight drops.</summary>
    public bool Degraded { get; init; }
    /// <summary>Share of normal traffic admitted, in [0, 1]: below 1 while ramping back after recovery.</summary>
    public double TrafficFraction { get; init; }
    /// <summary>The endpoint is cooling after 429s until this time (separate from failing).</summary>
    public DateTimeOffset? RateLimitedUntil { get; init; }
    /// <summary>The active admin override, if any.</summary>
    public AdminOverride? Override { get; init; }

    /// <summary>A healthy, closed endpoint at full traffic.</summary>
    public static EndpointHealthView Healthy => new() { State = BreakerState.Closed, TrafficFraction = 1.0 };
}
