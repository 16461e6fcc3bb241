namespace ControlPlane.Domain.Routing;

/// <summary>Why the decision went where it went (the wire <c>RouteDecision.route_reason</c>).</summary>
public enum RouteReason : byte
{
    /// <summary>A primary endpoint, nothing unusual.</summary>
    Primary = 0,
    /// <summary>The first primary is cooling after 429s or has no quota left: an approved fallback.</summary>
    PrimaryRateLimited = 1,
    /// <summary>The first primary's breaker is open on errors: an approved fallback.</summary>
    PrimaryBreakerOpen = 2,
    /// <summary>The first primary's breaker is open on latency far above baseline: an approved fallback.</summary>
    PrimaryDegradedLatency = 3,
    /// <summary>The first primary's breaker is open on quality drift: an approved fallback.</summary>
    PrimaryQuality = 4,
    /// <summary>A retry (attempt &gt; 0) after the excluded endpoint failed: the next approved endpoint.</summary>
    FallbackAfterError = 5,
    /// <summary>An admin override decided: the chosen endpoint is forced closed, or the first primary is forced open.</summary>
    ForcedOverride = 6,
    /// <summary>The first primary is drained: an approved fallback.</summary>
    Drained = 7,
    /// <summary>A queue-only class whose primaries are unavailable: hold the request, no endpoint.</summary>
    QueueOnlyHold = 8,
    /// <summary>No approved endpoint can take the request (or the class fails instead of falling back).</summary>
    NoCapacity = 9,
    /// <summary>A half-open endpoint got the request as one of its bounded recovery probes.</summary>
    HalfOpenProbe = 10,
    /// <summary>Too few endpoints are available: spread over every approved endpoint that is not open.</summary>
    PanicSpread = 11,
    /// <summary>The first primary cannot serve this request (capabilities, context window): an approved fallback.</summary>
    PrimaryIneligible = 12,

    /// <summary>The primary is ramping back after a recovery and this request fell outside its admitted share.</summary>
    PrimaryRecovering = 13,

    /// <summary>A retry refused because the class's cluster-wide retry budget is spent: no endpoint.</summary>
    RetryBudgetExhausted = 14,

    /// <summary>The class's spend ceiling (daily or monthly, in USD) cannot pay this request on any approved endpoint:
    /// no endpoint.</summary>
    SpendCeiling = 15,
}

/// <summary>Wire names of <see cref="RouteReason"/> (snake_case, stable).</summary>
public static class RouteReasonNames
{
    private static readonly string[] Names =
    [
        "primary",
        "primary_rate_limited",
        "primary_breaker_open",
        "primary_degraded_latency",
        "primary_quality",
        "fallback_after_error",
        "forced_override",
        "drained",
        "queue_only_hold",
        "no_capacity",
        "half_open_probe",
        "panic_spread",
        "primary_ineligible",
        "primary_recovering",
        "retry_budget_exhausted",
        "spend_ceiling",
    ];

    /// <summary>Every reason, in enum order.</summary>
    public static IReadOnlyList<string> All => Names;

    /// <summary>The wire name, e.g. <c>primary_breaker_open</c>. Allocation-free.</summary>
    public static string ToWireName(this RouteReason reason) =>
        (uint)reason < (uint)Names.Length
            ? Names[(int)reason]
            : throw new ArgumentOutOfRangeException(nameof(reason), reason, "unknown route reason");

    /// <summary>Parses a wire name.</summary>
    public static bool TryParse(string? name, out RouteReason reason)
    {
        int i = Array.IndexOf(Names, name);
        reason = i < 0 ? default : (RouteReason)i;
        return i >= 0;
    }
}
