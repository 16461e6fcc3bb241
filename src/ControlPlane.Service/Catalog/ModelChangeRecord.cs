namespace ControlPlane.Service.Catalog;

/// <summary>A silent model change an endpoint grain observed: outcomes reported a model version other than the pinned
/// one. Persisted with the endpoint's state; cleared from the alerts by an operator's acknowledgement.</summary>
/// <param name="Pinned">The pinned version (the fleet file's <c>model_version</c>) when the change was seen.</param>
/// <param name="Observed">The version the provider returned.</param>
/// <param name="FirstSeen">When the grain first counted an outcome with <paramref name="Observed"/>.</param>
[Immutable]
public sealed record ModelChangeRecord(string Pinned, string Observed, DateTimeOffset FirstSeen)
{
    /// <summary>True once an operator acknowledged the change (the alert is cleared).</summary>
    public bool Acknowledged { get; init; }

    /// <summary>Who acknowledged it.</summary>
    public string? AcknowledgedBy { get; init; }

    /// <summary>When it was acknowledged.</summary>
    public DateTimeOffset? AcknowledgedAt { get; init; }

    /// <summary>True when the grain drained the endpoint for this change (<c>on_model_change: drain</c>, and no other
    /// override was active).</summary>
    public bool Drained { get; init; }
}
