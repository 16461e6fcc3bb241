namespace ControlPlane.Grains;

/// <summary>A grain with typed persisted state. State is read before <see cref="Grain.OnActivateAsync"/>; writes are
/// explicit and checked against the etag read or last written (and against the activation's fencing epoch), so a
/// lost update surfaces as <see cref="GrainStorageConflictException"/> or <see cref="GrainFencedException"/>.</summary>
/// <typeparam name="TState">The state type; serialized with the silo's <see cref="Storage.IGrainStateSerializer"/>.</typeparam>
public abstract class Grain<TState> : Grain
    where TState : class, new()
{
    /// <summary>The state (a new <typeparamref name="TState"/> until first written).</summary>
    protected TState State { get; set; } = new();

    /// <summary>The etag of the stored state this activation last read or wrote; null when none is stored.</summary>
    protected string? StateETag { get; private set; }

    /// <summary>True when state is stored (written and not cleared).</summary>
    protected bool RecordExists => StateETag is not null;

    /// <summary>Re-reads state from storage, replacing <see cref="State"/>.</summary>
    protected async Task ReadStateAsync(CancellationToken cancellationToken = default)
    {
        var runtime = Activation.Runtime;
        var record = await runtime.Storage.ReadAsync(GrainId, cancellationToken);
        if (record?.Data is not { } data)
        {
            State = new TState();
            StateETag = null;
            return;
        }

        try
        {
            State = runtime.Serializer.Deserialize<TState>(data.Span);
        }
#pragma warning disable CA1031 // Any deserializer failure means the same thing: these bytes are not a TState.
        catch (Exception error)
#pragma warning restore CA1031
        {
            throw new GrainStateCorruptException(GrainId, typeof(TState), error);
        }

        StateETag = record.ETag;
    }

    /// <summary>Writes <see cref="State"/> if storage still holds what this activation last saw.</summary>
    protected async Task WriteStateAsync(CancellationToken cancellationToken = default)
    {
        var runtime = Activation.Runtime;
        var bytes = runtime.Serializer.Serialize(State);
        try
        {
            StateETag = await runtime.Storage.WriteAsync(GrainId, bytes, StateETag, Activation.Claim?.Epoch ?? 0, cancellationToken);
        }
        catch (GrainFencedException)
        {
            // A newer activation owns the grain: this one is a zombie and must not take another turn.
            Activation.DeactivateNow(DeactivationReason.ClaimLost);
            throw;
        }
        catch (GrainStorageConflictException)
        {
            // Storage moved on underneath this activation (or a write's reply was lost): its state is stale, so it
            // goes, and the next call reloads what storage holds rather than conflicting forever.
            Activation.DeactivateNow(DeactivationReason.StateConflict);
            throw;
        }
    }

    /// <summary>Clears stored state (keeping the fencing epoch) and resets <see cref="State"/>.</summary>
    protected async Task ClearStateAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            await Activation.Runtime.Storage.ClearAsync(GrainId, StateETag, Activation.Claim?.Epoch ?? 0, cancellationToken);
        }
        catch (GrainFencedException)
        {
            Activation.DeactivateNow(DeactivationReason.ClaimLost);
            throw;
        }
        catch (GrainStorageConflictException)
        {
            Activation.DeactivateNow(DeactivationReason.StateConflict);
            throw;
        }

        StateETag = null;
        State = new TState();
    }

    internal override Task ReadStateOnActivateAsync(CancellationToken cancellationToken) => ReadStateAsync(cancellationToken);
}
