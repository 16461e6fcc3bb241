using System.Collections.Concurrent;
using System.Globalization;

namespace ControlPlane.Grains.Storage;

/// <summary>Grain state in process memory (tests, ephemeral nodes). Same etag and epoch semantics as the durable
/// providers; etags are per-grain version numbers.</summary>
public sealed class MemoryGrainStorage : IGrainStorage
{
    private readonly ConcurrentDictionary<GrainId, Entry> _entries = new();

    /// <inheritdoc />
    public ValueTask<GrainStateRecord?> ReadAsync(GrainId grainId, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (!_entries.TryGetValue(grainId, out var e))
        {
            return ValueTask.FromResult<GrainStateRecord?>(null);
        }

        // Copy out so callers cannot mutate what is stored.
        ReadOnlyMemory<byte>? data = e.Data is null ? (ReadOnlyMemory<byte>?)null : e.Data.ToArray();
        return ValueTask.FromResult<GrainStateRecord?>(new GrainStateRecord(data, e.ETag, e.Epoch));
    }

    /// <inheritdoc />
    public ValueTask<string> WriteAsync(GrainId grainId, ReadOnlyMemory<byte> state, string? expectedETag, long epoch, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var next = Swap(grainId, state.ToArray(), expectedETag, epoch);
        return ValueTask.FromResult(next.ETag!);
    }

    /// <inheritdoc />
    public ValueTask ClearAsync(GrainId grainId, string? expectedETag, long epoch, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        Swap(grainId, null, expectedETag, epoch);
        return ValueTask.CompletedTask;
    }

    private Entry Swap(GrainId grainId, byte[]? data, string? expectedETag, long epoch)
    {
        // Compare-and-swap loop on immutable entries: the check and the write are one atomic step.
        while (true)
        {
            if (!_entries.TryGetValue(grainId, out var current))
            {
                if (expectedETag is not null)
                {
                    throw new GrainStorageConflictException(grainId, expectedETag, null);
                }

                var created = new Entry(data, 1, epoch);
                if (_entries.TryAdd(grainId, created))
                {
                    return created;
                }

                continue;
            }

            if (current.Epoch > epoch)
            {
                throw new GrainFencedException(grainId, epoch, current.Epoch);
            }

            if (!string.Equals(current.ETag, expectedETag, StringComparison.Ordinal))
            {
                throw new GrainStorageConflictException(grainId, expectedETag, current.ETag);
            }

            var updated = new Entry(data, current.Version + 1, epoch);
            if (_entries.TryUpdate(grainId, updated, current))
            {
                return updated;
            }
        }
    }

    private sealed class Entry(byte[]? data, long version, long epoch)
    {
        public byte[]? Data { get; } = data;
        public long Version { get; } = version;
        public long Epoch { get; } = epoch;

        // A tombstone has no etag: the next write expects null, as for never-written state.
        public string? ETag { get; } = data is null ? null : version.ToString(CultureInfo.InvariantCulture);
    }
}
