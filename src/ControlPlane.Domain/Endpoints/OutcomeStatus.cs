namespace ControlPlane.Domain.Endpoints;

/// <summary>How one attempt against a provider endpoint ended. Outages (5xx, timeouts, connection
/// errors, invalid responses) count against the endpoint's error rate; 429s cool the endpoint as rate
/// limited instead; content-filter refusals and client errors are the request's doing, not the endpoint's.</summary>
public enum OutcomeStatus : byte
{
    /// <summary>The provider answered with a usable response.</summary>
    Success = 0,
    /// <summary>HTTP 5xx from the provider.</summary>
    ServerError = 1,
    /// <summary>HTTP 429 / tokens-per-minute exhaustion. Cools the endpoint; not an outage.</summary>
    RateLimited = 2,
    /// <summary>No complete answer within the timeout budget.</summary>
    Timeout = 3,
    /// <summary>Connection refused, reset or TLS failure.</summary>
    ConnectionError = 4,
    /// <summary>A 200 whose body was malformed or failed schema validation.</summary>
    InvalidResponse = 5,
    /// <summary>The provider's content filter refused the request or response.</summary>
    ContentFilter = 6,
    /// <summary>HTTP 4xx other than 429: the caller's fault, not the endpoint's.</summary>
    ClientError = 7,
}

/// <summary>Helpers for <see cref="OutcomeStatus"/>.</summary>
public static class OutcomeStatusExtensions
{
    /// <summary>Number of <see cref="OutcomeStatus"/> values (for per-class counters).</summary>
    public const int Count = 8;

    /// <summary>True when the outcome counts as an endpoint failure for the error-rate signal.
    /// Rate limiting is tracked separately and is not an outage.</summary>
    public static bool IsEndpointFailure(this OutcomeStatus status) => status switch
    {
        OutcomeStatus.ServerError or OutcomeStatus.Timeout or OutcomeStatus.ConnectionError
            or OutcomeStatus.InvalidResponse => true,
        _ => false,
    };
}
