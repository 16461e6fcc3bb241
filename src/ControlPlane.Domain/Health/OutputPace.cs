using ControlPlane.Domain.Endpoints;

namespace ControlPlane.Domain.Health;

/// <summary>Time per output token observed on one endpoint, over a sliding window shaped like the health window:
/// for each successful attempt that produced output tokens, (latency - time to first token) / output tokens, or
/// latency / output tokens when the time to first token was not measured (an upper bound: the fixed part is spread
/// over the tokens). One log-linear histogram (<see cref="LatencyHistogram"/>, microseconds per token) per bucket;
/// recording is O(1) and allocation-free. Not thread-safe: one owner (a grain turn) drives it.</summary>
public sealed class OutputPace
{
    private const int Histogram = LatencyHistogram.BucketCount;
    private const long Empty = long.MinValue;
    private readonly long _bucketTicks;
    private readonly int _slots;
    private readonly long[] _slotBucket;
    private readonly int[] _counts;
    private readonly int[] _scratch = new int[Histogram];
    private long _head = Empty;
    private long _headStartTicks = long.MinValue;
    private int _headSlot;

    /// <summary>Creates an empty pace window; validates <paramref name="options"/>.</summary>
    public OutputPace(HealthWindowOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _bucketTicks = options.BucketDuration.Ticks;
        _slots = options.BucketCount;
        _slotBucket = new long[_slots];
        Array.Fill(_slotBucket, Empty);
        _counts = new int[_slots * Histogram];
    }

    /// <summary>Bytes of state held (arrays only): about 100 KB with the default 30 buckets.</summary>
    public long StateBytes => (_slotBucket.Length * sizeof(long)) + ((_counts.Length + _scratch.Length) * sizeof(int));

    /// <summary>Adds the pace of <paramref name="sample"/> when it is a success with output tokens and a latency.</summary>
    public void Record(in OutcomeSample sample)
    {
        if (sample.Status != OutcomeStatus.Success || sample.OutputTokens <= 0 || sample.Latency <= TimeSpan.Zero)
        {
            return;
        }

        var streaming = sample.TimeToFirstToken > TimeSpan.Zero && sample.TimeToFirstToken < sample.Latency
            ? sample.Latency - sample.TimeToFirstToken
            : sample.Latency;
        var micros = LatencyHistogram.ToMicros(streaming) / sample.OutputTokens;
        var ticks = sample.At.UtcTicks;
        // Fast path: most samples land in the newest bucket (no 64-bit divisions).
        var slot = (ulong)(ticks - _headStartTicks) < (ulong)_bucketTicks ? _headSlot : Locate(ticks);
        if (slot >= 0)
        {
            _counts[(slot * Histogram) + LatencyHistogram.IndexOf(micros)]++;
        }
    }

    private int Locate(long ticks)
    {
        var bucket = ticks / _bucketTicks;
        if (_head != Empty && bucket <= _head - _slots)
        {
            return -1;
        }

        var slot = (int)(bucket % _slots);
        if (_slotBucket[slot] != bucket)
        {
            if (_slotBucket[slot] > bucket)
            {
                return -1;
            }

            _slotBucket[slot] = bucket;
            Array.Clear(_counts, slot * Histogram, Histogram);
        }

        if (bucket >= _head)
        {
            _head = bucket;
            _headStartTicks = bucket * _bucketTicks;
            _headSlot = slot;
        }

        return slot;
    }

    /// <summary>The <paramref name="quantile"/> of the time per output token over the whole window at
    /// <paramref name="now"/>, in milliseconds; null without samples.</summary>
    public double? PerTokenMs(DateTimeOffset now, double quantile = 0.95)
    {
        var scratch = _scratch.AsSpan();
        scratch.Clear();
        long total = 0;
        var last = now.UtcTicks / _bucketTicks;
        for (var b = last - _slots + 1; b <= last; b++)
        {
            var slot = (int)(b % _slots);
            if (b < 0 || _slotBucket[slot] != b)
            {
                continue;
            }

            var source = _counts.AsSpan(slot * Histogram, Histogram);
            for (var i = 0; i < Histogram; i++)
            {
                scratch[i] += source[i];
                total += source[i];
            }
        }

        return LatencyHistogram.Percentile(scratch, total, quantile) is { } micros ? micros / 1000.0 : null;
    }
}
