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

    public int Fields => _fields;

    public void Add(DateTimeOffset at, ReadOnlySpan<long> deltas) => AddBucket(at.UtcTicks / _bucketTicks, deltas);

    /// <summary>Appends the live buckets that hold a non-zero count, oldest first: a varint count, then per bucket the
    /// varint gap from the previous bucket number (the first: the number itself) and its fields as varints.</summary>
    public void Export(List<byte> output)
    {
        var live = new List<int>();
        for (var slot = 0; slot < _slots; slot++)
        {
            var b = _slotBucket[slot];
            if (b != Empty && b > _head - _slots && _counts.AsSpan(slot * _fields, _fields).ContainsAnyExcept(0L))
            {
                live.Add(slot);
            }
        }

        live.Sort((x, y) => _slotBucket[x].CompareTo(_slotBucket[y]));
        VarInt.Write(output, (ulong)live.Count);
        long previous = 0;
        foreach (var slot in live)
        {
            VarInt.Write(output, (ulong)(_slotBucket[slot] - previous));
            previous = _slotBucket[slot];
            foreach (var count in _counts.AsSpan(slot * _fields, _fields))
            {
                VarInt.Write(output, (ulong)count);
            }
        }
    }

    /// <summary>Adds buckets written by <see cref="Export"/> with <paramref name="storedFields"/> fields each (extra
    /// fields are skipped, missing ones stay 0); false, with nothing added past the damage, when the input is malformed.</summary>
    public bool Import(ref ReadOnlySpan<byte> input, int storedFields)
    {
        if (!VarInt.TryRead(ref input, out var n) || n > (ulong)_slots * 64)
        {
            return false;
        }

        Span<long> deltas = stackalloc long[_fields];
        long bucket = 0;
        for (ulong i = 0; i < n; i++)
        {
            if (!VarInt.TryRead(ref input, out var gap) || gap > long.MaxValue / 2 || (i > 0 && gap == 0))
            {
                return false;
            }

            bucket = checked(bucket + (long)gap);
            deltas.Clear();
            for (var f = 0; f < storedFields; f++)
            {
                if (!VarInt.TryRead(ref input, out var count) || count > long.MaxValue / 2)
                {
                    return false;
                }

                if (f < _fields)
                {
                    deltas[f] = (long)count;
                }
            }

            AddBucket(bucket, deltas);
        }

        return true;
    }

    private void AddBucket(long bucket, ReadOnlySpan<long> deltas)
    {
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
