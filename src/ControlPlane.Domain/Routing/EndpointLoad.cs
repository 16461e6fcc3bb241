using ControlPlane.Domain.Health;

namespace ControlPlane.Domain.Routing;

/// <summary>A node's live load figures for one endpoint, as its outcome aggregates compute them. They feed
/// power-of-two-choices (latency EWMA, in-flight, errors) and the adaptive timeout (percentiles).</summary>
public readonly record struct EndpointLoad
{
    /// <summary>Exponentially weighted moving average of request latency, in ms.</summary>
    public double LatencyEwmaMs { get; init; }

    /// <summary>Requests this node has in flight to the endpoint.</summary>
    public int InFlight { get; init; }

    /// <summary>Recent endpoint-failure rate in [0, 1].</summary>
    public double ErrorRate { get; init; }

    /// <summary>Recent median latency of the fixed part of a request (up to the first token), in ms.</summary>
    public double P50LatencyMs { get; init; }

    /// <summary>Recent 95th-percentile latency of the fixed part of a request (up to the first token), in ms.</summary>
    public double P95LatencyMs { get; init; }

    /// <summary>Recent 95th-percentile time per output token, in ms.</summary>
    public double PerOutputTokenMs { get; init; }

    /// <summary>Recent 95th-percentile latency of a whole request, in ms: the fixed part of a budget whose output
    /// length is unknown (no <c>max_output_tokens</c>).</summary>
    public double P95RequestLatencyMs { get; init; }

    /// <summary>The longest recent timed-out attempt, in ms, when more than 5% of answered attempts timed out (the
    /// p95 is then censored: only answers faster than the budget were measured); 0 otherwise. The adaptive timeout
    /// grows past it (<see cref="Router.TimeoutBudget"/>) so that it cannot stay stuck below the real latency.</summary>
    public double TimedOutAtMs { get; init; }

    /// <summary>The load figures of an endpoint's health <paramref name="window"/> and output pace
    /// (<paramref name="perTokenMs"/>, null when unknown). With a pace and streamed answers the fixed part is the
    /// time to first token; without first-token times it stays the whole latency (the pace, latency / tokens, then
    /// double-counts: generous, never too short); without a pace, the whole latency. A request without max output
    /// tokens gets the whole request's p95.</summary>
    public static EndpointLoad FromWindow(in HealthSnapshot window, double? perTokenMs) => FromWindow(window, window, perTokenMs);

    /// <summary>As <see cref="FromWindow(in HealthSnapshot, double?)"/>, with the balancing figures (latency EWMA
    /// stand-in, error rate) taken from <paramref name="signals"/>: the part of the window since the breaker's last
    /// state change, as the breaker reads it. A recovered primary is then not priced out by the outage that opened it,
    /// which it could never dilute while power-of-two-choices keeps it unpicked. The timeout figures keep the whole
    /// window.</summary>
    /// <param name="window">The whole health window.</param>
    /// <param name="signals">The window since the breaker's last state change.</param>
    /// <param name="perTokenMs">The p95 per-output-token pace, when known.</param>
    /// <returns>The load figures.</returns>
    public static EndpointLoad FromWindow(in HealthSnapshot window, in HealthSnapshot signals, double? perTokenMs)
    {
        var ttft = perTokenMs is not null && window.TtftSamples > 0;
        var censored = window.LongestTimeout is { } longest && window.Timeouts * 20 > window.Successes + window.Timeouts;
        return new()
        {
            LatencyEwmaMs = (signals.LatencyP50 ?? window.LatencyP50)?.TotalMilliseconds ?? 0,
            ErrorRate = signals.ErrorRate,
            P50LatencyMs = (ttft ? window.TtftP50 : window.LatencyP50)?.TotalMilliseconds ?? 0,
            P95LatencyMs = (ttft ? window.TtftP95 : window.LatencyP95)?.TotalMilliseconds ?? 0,
            PerOutputTokenMs = perTokenMs ?? 0,
            P95RequestLatencyMs = window.LatencyP95?.TotalMilliseconds ?? 0,
            TimedOutAtMs = censored ? window.LongestTimeout!.Value.TotalMilliseconds : 0,
        };
    }
}
