namespace ControlPlane.Grains;

/// <summary>A state write or clear named an etag that is not the stored one: someone else wrote first (CONFLICT).</summary>
public sealed class GrainStorageConflictException : GrainException
{
    /// <summary>Creates the exception.</summary>
    public GrainStorageConflictException(GrainId grainId, string? expectedETag, string? storedETag)
        : base(grainId, $"State of grain {grainId} changed underneath: expected etag '{expectedETag ?? "(none)"}', stored '{storedETag ?? "(none)"}'.")
    {
        ExpectedETag = expectedETag;
        StoredETag = storedETag;
    }

    /// <summary>The etag the writer expected.</summary>
    public string? ExpectedETag { get; }

    /// <summary>The etag in storage at the time of the failed write, when known.</summary>
    public string? StoredETag { get; }
}

/// <summary>A state write carried an older fencing epoch than the stored one: a newer activation owns the grain
/// and this writer is a zombie (FENCED).</summary>
public sealed class GrainFencedException : GrainException
{
    /// <summary>Creates the exception.</summary>
    public GrainFencedException(GrainId grainId, long writerEpoch, long storedEpoch)
        : base(grainId, $"Write to grain {grainId} fenced: writer epoch {writerEpoch} is older than stored epoch {storedEpoch}.")
    {
        WriterEpoch = writerEpoch;
        StoredEpoch = storedEpoch;
    }

    /// <summary>The epoch the rejected writer held.</summary>
    public long WriterEpoch { get; }

    /// <summary>The epoch in storage.</summary>
    public long StoredEpoch { get; }
}

/// <summary>Stored state bytes could not be deserialized into the grain's state type; the grain is not activated.</summary>
public sealed class GrainStateCorruptException : GrainException
{
    /// <summary>Creates the exception.</summary>
    public GrainStateCorruptException(GrainId grainId, Type stateType, Exception innerException)
        : base(grainId, $"Stored state of grain {grainId} is corrupt: it does not deserialize as {stateType.FullName} ({innerException.Message}). " +
            "The grain is not activated; repair or clear its state.", innerException)
    {
        StateType = stateType;
    }

    /// <summary>The state type the bytes should have held.</summary>
    public Type StateType { get; }
}
