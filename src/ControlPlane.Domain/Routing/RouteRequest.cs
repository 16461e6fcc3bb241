using ControlPlane.Domain.Endpoints;

namespace ControlPlane.Domain.Routing;

/// <summary>One routing question, with ids already interned to snapshot indices (see
/// <see cref="RoutingSnapshot.TryGetClassIndex"/> and <see cref="RoutingSnapshot.TryGetEndpointIndex"/>),
/// so deciding allocates nothing. Mirrors the wire <c>RouteRequest</c>.</summary>
public readonly ref struct RouteRequest
{
    /// <summary>The workload class index.</summary>
    public int ClassIndex { get; init; }

    /// <summary>Estimated input tokens (reserved, then reconciled to the actual count).</summary>
    public long EstimatedInputTokens { get; init; }

    /// <summary>Maximum output tokens (reserved, and used to scale the timeout).</summary>
    public long MaxOutputTokens { get; init; }

    /// <summary>Capabilities this request needs beyond the class's own.</summary>
    public Capabilities RequiredCapabilities { get; init; }

    /// <summary>Time left before the caller's deadline; null when the caller has none. The timeout budget
    /// never exceeds it.</summary>
    public TimeSpan? RemainingDeadline { get; init; }

    /// <summary>0 for a first attempt; n for the n-th retry.</summary>
    public int Attempt { get; init; }

    /// <summary>Endpoint indices not to use (typically those that already failed this request).</summary>
    public ReadOnlySpan<int> Exclude { get; init; }

    /// <summary>Caller tags, carried for audit and telemetry; the decision does not branch on them.</summary>
    public IReadOnlyDictionary<string, string>? Tags { get; init; }
}
