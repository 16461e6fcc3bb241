namespace ControlPlane.Grains.Storage;

/// <summary>Persists grain state as opaque bytes with an etag (optimistic concurrency) and a fencing epoch
/// (single ownership). Every provider (memory, SQLite, Redis) follows the same contract, which the shared
/// contract test suite checks:
/// <list type="bullet">
/// <item>A write whose epoch is older than the stored epoch fails with <see cref="GrainFencedException"/>, before
/// the etag is looked at; an accepted write records its epoch, so the stored epoch never goes back.</item>
/// <item>A write or clear whose expected etag is not the stored one fails with <see cref="GrainStorageConflictException"/>;
/// <c>null</c> means "no state stored yet" (never written, or cleared).</item>
/// <item>Clearing keeps a tombstone with the epoch, so a zombie cannot recreate cleared state.</item>
/// </list></summary>
public interface IGrainStorage
{
    /// <summary>Reads a grain's state: <c>null</c> when the grain never stored state; a tombstone (no data, no etag,
    /// the epoch) after a clear.</summary>
    ValueTask<GrainStateRecord?> ReadAsync(GrainId grainId, CancellationToken cancellationToken = default);

    /// <summary>Writes state if the stored etag is <paramref name="expectedETag"/> and the stored epoch is not newer
    /// than <paramref name="epoch"/>; returns the new etag.</summary>
    ValueTask<string> WriteAsync(GrainId grainId, ReadOnlyMemory<byte> state, string? expectedETag, long epoch, CancellationToken cancellationToken = default);

    /// <summary>Clears state under the same etag and epoch checks as <see cref="WriteAsync"/>. A later write must
    /// expect etag <c>null</c>, as with never-written state.</summary>
    ValueTask ClearAsync(GrainId grainId, string? expectedETag, long epoch, CancellationToken cancellationToken = default);
}

/// <summary>A grain's stored state.</summary>
/// <param name="Data">The serialized state; <c>null</c> when the state was cleared (a tombstone).</param>
/// <param name="ETag">The etag to pass to the next write; <c>null</c> for a tombstone.</param>
/// <param name="Epoch">The newest fencing epoch that wrote this grain.</param>
public sealed record GrainStateRecord(ReadOnlyMemory<byte>? Data, string? ETag, long Epoch);
