namespace ControlPlane.Domain.Slo;

/// <summary>Fixed-size ring of time buckets, each a few long counters; a slot is reused by index once its time
/// has passed. Sums cover the newest buckets of a span ending at the bucket of <c>now</c>.</summary>
internal sealed class CountRing
{
    private const long Empty = long.MinValue;
    private readonly long _bucketTicks;
    private readonly int _slots;
    private readonly int _fields;
    private readonly long[] _slotBucket;
    private readonly long[] _counts;
    private long _head = Empty;

    public CountRing(TimeSpan bucket, int slots, int fields)
    {
        _bucketTicks = bucket.Ticks;
        _slots = slots;
        _fields = fields;
        _slotBucket = new long[slots];
        Array.Fill(_slotBucket, Empty);
        _counts = new long[slots * fields];
    }

    public long Bytes => (_slotBucket.Length + _counts.Length) * sizeof(long);

    public void Add(DateTimeOffset at, ReadOnlySpan<long> deltas)
    {
        var bucket = at.UtcTicks / _bucketTicks;
        if (_head != Empty && bucket <= _head - _slots)
        {
            return;
        }

        var slot = (int)(bucket % _slots);
        if (_slotBucket[slot] != bucket)
        {
            if (_slotBucket[slot] > bucket)
            {
                return;
            }

            _slotBucket[slot] = bucket;
            Array.Clear(_counts, slot * _fields, _fields);
        }

        _head = Math.Max(_head, bucket);
        var counts = _counts.AsSpan(slot * _fields, _fields);
        for (var i = 0; i < deltas.Length; i++)
        {
            counts[i] += deltas[i];
        }
    }

    public void Sum(DateTimeOffset now, TimeSpan span, Span<long> totals)
    {
        totals.Clear();
        var last = now.UtcTicks / _bucketTicks;
        var count = Math.Clamp((span.Ticks + _bucketTicks - 1) / _bucketTicks, 1, _slots);
        for (var b = last - count + 1; b <= last; b++)
        {
            var slot = (int)(b % _slots);
            if (_slotBucket[slot] != b)
            {
                continue;
            }

            var counts = _counts.AsSpan(slot * _fields, _fields);
            for (var i = 0; i < totals.Length; i++)
            {
                totals[i] += counts[i];
            }
        }
    }
}
