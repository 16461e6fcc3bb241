namespace ControlPlane.Domain.Slo;

/// <summary>A fixed-size ring of time buckets of a few long counters each (the <see cref="CountRing"/> of the SLO
/// bookkeeping, public for the alert rules' long windows): O(1) and allocation-free to add to, exported compactly
/// (non-empty buckets, varint-coded) for a grain to persist. Not thread-safe.</summary>
public sealed class BucketedCounts
{
    private readonly CountRing _ring;

    /// <summary>Creates an empty ring of <paramref name="slots"/> buckets of <paramref name="bucket"/>, each with
    /// <paramref name="fields"/> counters.</summary>
    public BucketedCounts(TimeSpan bucket, int slots, int fields)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(bucket, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(slots, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(slots, 100_000);
        ArgumentOutOfRangeException.ThrowIfLessThan(fields, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(fields, 64);
        Bucket = bucket;
        _ring = new CountRing(bucket, slots, fields);
    }

    /// <summary>The width of one bucket.</summary>
    public TimeSpan Bucket { get; }

    /// <summary>Adds <paramref name="deltas"/> to the bucket of <paramref name="at"/> (dropped when it left the ring).</summary>
    public void Add(DateTimeOffset at, ReadOnlySpan<long> deltas) => _ring.Add(at, deltas);

    /// <summary>Sums the buckets of the <paramref name="span"/> ending with the bucket of <paramref name="now"/>.</summary>
    public void Sum(DateTimeOffset now, TimeSpan span, Span<long> totals) => _ring.Sum(now, span, totals);

    /// <summary>Appends the ring's non-empty buckets to <paramref name="output"/>.</summary>
    public void Export(List<byte> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        VarInt.Write(output, (ulong)_ring.Fields);
        _ring.Export(output);
    }

    /// <summary>Adds the buckets <see cref="Export"/> wrote at the start of <paramref name="input"/> and advances it;
    /// false when malformed (what was read before the damage stays).</summary>
    public bool Import(ref ReadOnlySpan<byte> input) =>
        VarInt.TryRead(ref input, out var fields) && fields is > 0 and <= 64 && _ring.Import(ref input, (int)fields);
}
