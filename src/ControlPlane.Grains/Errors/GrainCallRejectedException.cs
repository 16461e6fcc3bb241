namespace ControlPlane.Grains;

/// <summary>A call that arrived from another silo was refused before it ran, because the grain lives elsewhere (or
/// moved while the call waited). Nothing executed, so the caller may retry on <see cref="OwnerSiloId"/>.</summary>
public sealed class GrainCallRejectedException : GrainException
{
    /// <summary>Creates the exception.</summary>
    public GrainCallRejectedException(GrainId grainId, string? ownerSiloId)
        : base(grainId, $"Call to grain {grainId} rejected before execution: the grain lives on {ownerSiloId ?? "an unknown silo"}.")
    {
        OwnerSiloId = ownerSiloId;
    }

    /// <summary>The silo that owns the grain, when known.</summary>
    public string? OwnerSiloId { get; }
}
