namespace ControlPlane.Grains;

/// <summary>Why an activation is being deactivated.</summary>
public enum DeactivationReason
{
    /// <summary>No call reached the grain for <see cref="GrainRuntimeOptions.IdleDeactivationAge"/>.</summary>
    IdleTimeout,

    /// <summary>The grain asked for it (<see cref="Grain.DeactivateOnIdle"/>) or the application did.</summary>
    ApplicationRequested,

    /// <summary>The silo is shutting down.</summary>
    ShuttingDown,

    /// <summary>The activation's claim is void (a state write was fenced, or the silo lost its cluster lease): another
    /// activation may own the grain now, so state writes will be refused.</summary>
    ClaimLost,

    /// <summary>A state write or clear met an etag it did not expect: the activation goes, and the next call
    /// re-activates the grain from what storage holds now.</summary>
    StateConflict,
}
