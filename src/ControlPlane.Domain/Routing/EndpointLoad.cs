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
}
