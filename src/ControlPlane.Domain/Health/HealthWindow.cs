using System.Numerics;
using System.Runtime.InteropServices;
using ControlPlane.Domain.Endpoints;

namespace ControlPlane.Domain.Health;

/// <summary>Which duration histogram a percentile query reads.</summary>
public enum LatencyKind : byte
{
    /// <summary>Total latency of successful attempts.</summary>
    Total = 0,
    /// <summary>Time to first token.</summary>
    TimeToFirstToken = 1,
}

/// <summary>A time-bucketed sliding window of outcomes for one endpoint (or one endpoint and workload class).
/// All arrays are allocated here; <see cref="Record"/> is O(1), allocation-free, and reuses a bucket slot
/// by index once its time has passed. Not thread-safe: one owner (a grain turn) drives it.</summary>
public sealed partial class HealthWindow
{
    // Per-slot long counters: one per OutcomeStatus, then the fields below.
    private const int InputTokensIx = OutcomeStatusExtensions.Count;
    private const int OutputTokensIx = InputTokensIx + 1;
    private const int QualityPassIx = InputTokensIx + 2;
    private const int QualityFailIx = InputTokensIx + 3;
    private const int ScoreCountIx = InputTokensIx + 4;
    private const int LatencyCountIx = InputTokensIx + 5;
    private const int TtftCountIx = InputTokensIx + 6;
    // Not summed: the longest timed-out attempt in the slot, in microseconds (the budget it was cut at).
    private const int TimeoutMaxIx = InputTokensIx + 7;
    private const int CounterStride = 16;
    private const int CostIx = 0;
    private const int ScoreSumIx = 1;
    private const int SumStride = 2;
    private const int Histogram = LatencyHistogram.BucketCount;
    private const long Empty = long.MinValue;

    private readonly long _bucketTicks;
    private readonly int _slots;
    private readonly long[] _slotBucket;
    private readonly long[] _counters;
    private readonly double[] _sums;
    private readonly int[] _latency;
    private readonly int[] _ttft;
    private readonly int[] _scratch = new int[Histogram];
    private long _head = Empty;
    private long _headStartTicks = long.MinValue;
    private int _headSlot;

    /// <summary>Creates a window; validates <paramref name="options"/>.</summary>
    public HealthWindow(HealthWindowOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        BucketDuration = options.BucketDuration;
        _bucketTicks = options.BucketDuration.Ticks;
        _slots = options.BucketCount;
        _slotBucket = new long[_slots];
        Array.Fill(_slotBucket, Empty);
        _counters = new long[_slots * CounterStride];
        _sums = new double[_slots * SumStride];
        _latency = new int[_slots * Histogram];
        _ttft = new int[_slots * Histogram];
    }

    /// <summary>Width of one bucket.</summary>
    public TimeSpan BucketDuration { get; }

    /// <summary>Span the window covers.</summary>
    public TimeSpan Duration => TimeSpan.FromTicks(_bucketTicks * _slots);

    /// <summary>Samples that arrived after their bucket had left the window, and were dropped.</summary>
    public long DroppedLate { get; private set; }

    /// <summary>Bytes of state this window holds (arrays only), as documented in docs/domain-health.md.</summary>
    public static long StateBytes(HealthWindowOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        long slots = options.BucketCount;
        return (slots * sizeof(long) * (1 + CounterStride + SumStride))
            + (slots * 2L * Histogram * sizeof(int))
            + (Histogram * sizeof(int));
    }

    /// <summary>Adds one outcome to the bucket of its <see cref="OutcomeSample.At"/>.</summary>
    public void Record(in OutcomeSample sample)
    {
        var ticks = sample.At.UtcTicks;
        int slot;
        // Fast path: most samples land in the newest bucket, so skip the two 64-bit divisions.
        if ((ulong)(ticks - _headStartTicks) < (ulong)_bucketTicks)
        {
            slot = _headSlot;
        }
        else if (!TryLocate(ticks, out slot))
        {
            DroppedLate++;
            return;
        }

        var c = slot * CounterStride;
        var status = (int)sample.Status;
        _counters[c + (status < OutcomeStatusExtensions.Count ? status : (int)OutcomeStatus.ServerError)]++;
        _counters[c + InputTokensIx] += sample.InputTokens;
        _counters[c + OutputTokensIx] += sample.OutputTokens;
        var s = slot * SumStride;
        _sums[s + CostIx] += sample.Cost;

        if (sample.Quality == QualityVerdict.Pass)
        {
            _counters[c + QualityPassIx]++;
        }
        else if (sample.Quality == QualityVerdict.Fail)
        {
            _counters[c + QualityFailIx]++;
        }

        if (sample.QualityScore is { } score)
        {
            _counters[c + ScoreCountIx]++;
            _sums[s + ScoreSumIx] += score;
        }

        var h = slot * Histogram;
        // Only successes describe the provider's speed: a timeout's latency is our budget, a fast 5xx hides slowness.
        if (sample.Status == OutcomeStatus.Success && sample.Latency > TimeSpan.Zero)
        {
            _counters[c + LatencyCountIx]++;
            _latency[h + LatencyHistogram.IndexOf(LatencyHistogram.ToMicros(sample.Latency))]++;
        }
        else if (sample.Status == OutcomeStatus.Timeout && sample.Latency.Ticks / TimeSpan.TicksPerMicrosecond > _counters[c + TimeoutMaxIx])
        {
            _counters[c + TimeoutMaxIx] = sample.Latency.Ticks / TimeSpan.TicksPerMicrosecond;
        }

        if (sample.TimeToFirstToken > TimeSpan.Zero)
        {
            _counters[c + TtftCountIx]++;
            _ttft[h + LatencyHistogram.IndexOf(LatencyHistogram.ToMicros(sample.TimeToFirstToken))]++;
        }
    }

    /// <summary>Totals and percentiles at <paramref name="now"/> over the newest buckets covering
    /// <paramref name="span"/> (the whole window when null), leaving out buckets that started before
    /// <paramref name="notBefore"/> (used so a breaker does not re-trip on samples from before it closed).</summary>
    public HealthSnapshot Snapshot(DateTimeOffset now, TimeSpan? span = null, DateTimeOffset? notBefore = null)
    {
        var (first, last) = Range(now, span, notBefore);
        Span<long> totals = stackalloc long[CounterStride];
        double cost = 0, scoreSum = 0;
        for (var b = first; b <= last; b++)
        {
            var slot = (int)(b % _slots);
            if (_slotBucket[slot] != b)
            {
                continue;
            }

            var counters = _counters.AsSpan(slot * CounterStride, CounterStride);
            for (var i = 0; i < CounterStride; i++)
            {
                totals[i] = i == TimeoutMaxIx ? Math.Max(totals[i], counters[i]) : totals[i] + counters[i];
            }

            cost += _sums[(slot * SumStride) + CostIx];
            scoreSum += _sums[(slot * SumStride) + ScoreSumIx];
        }

        long requests = 0;
        for (var i = 0; i < OutcomeStatusExtensions.Count; i++)
        {
            requests += totals[i];
        }

        var latencyCount = totals[LatencyCountIx];
        var ttftCount = totals[TtftCountIx];
        TimeSpan? l50 = null, l95 = null, l99 = null, t50 = null, t95 = null, t99 = null;
        if (latencyCount > 0)
        {
            Merge(_latency, first, last);
            l50 = ToTime(LatencyHistogram.Percentile(_scratch, latencyCount, 0.50));
            l95 = ToTime(LatencyHistogram.Percentile(_scratch, latencyCount, 0.95));
            l99 = ToTime(LatencyHistogram.Percentile(_scratch, latencyCount, 0.99));
        }

        if (ttftCount > 0)
        {
            Merge(_ttft, first, last);
            t50 = ToTime(LatencyHistogram.Percentile(_scratch, ttftCount, 0.50));
            t95 = ToTime(LatencyHistogram.Percentile(_scratch, ttftCount, 0.95));
            t99 = ToTime(LatencyHistogram.Percentile(_scratch, ttftCount, 0.99));
        }

        return new HealthSnapshot
        {
            From = new DateTimeOffset(first * _bucketTicks, TimeSpan.Zero),
            To = new DateTimeOffset((last + 1) * _bucketTicks, TimeSpan.Zero),
            Requests = requests,
            Successes = totals[(int)OutcomeStatus.Success],
            ServerErrors = totals[(int)OutcomeStatus.ServerError],
            RateLimited = totals[(int)OutcomeStatus.RateLimited],
            Timeouts = totals[(int)OutcomeStatus.Timeout],
            ConnectionErrors = totals[(int)OutcomeStatus.ConnectionError],
            InvalidResponses = totals[(int)OutcomeStatus.InvalidResponse],
            ContentFiltered = totals[(int)OutcomeStatus.ContentFilter],
            ClientErrors = totals[(int)OutcomeStatus.ClientError],
            InputTokens = totals[InputTokensIx],
            OutputTokens = totals[OutputTokensIx],
            Cost = cost,
            QualityPasses = totals[QualityPassIx],
            QualityFailures = totals[QualityFailIx],
            QualityScores = totals[ScoreCountIx],
            MeanQualityScore = totals[ScoreCountIx] > 0 ? scoreSum / totals[ScoreCountIx] : null,
            LatencySamples = latencyCount,
            LatencyP50 = l50,
            LatencyP95 = l95,
            LatencyP99 = l99,
            TtftSamples = ttftCount,
            TtftP50 = t50,
            TtftP95 = t95,
            TtftP99 = t99,
            LongestTimeout = totals[TimeoutMaxIx] > 0 ? TimeSpan.FromTicks(totals[TimeoutMaxIx] * TimeSpan.TicksPerMicrosecond) : null,
        };
    }

    /// <summary>One percentile of <paramref name="kind"/> over <paramref name="span"/> (whole window when null),
    /// merging the bucket histograms into preallocated scratch; null without samples.</summary>
    public TimeSpan? Percentile(LatencyKind kind, double quantile, DateTimeOffset now, TimeSpan? span = null)
    {
        if (quantile is <= 0 or > 1 || double.IsNaN(quantile))
        {
            throw new ArgumentOutOfRangeException(nameof(quantile), quantile, "quantile must be in (0, 1].");
        }

        var (first, last) = Range(now, span, null);
        var total = Merge(kind == LatencyKind.Total ? _latency : _ttft, first, last);
        return ToTime(LatencyHistogram.Percentile(_scratch, total, quantile));
    }

    private (long First, long Last) Range(DateTimeOffset now, TimeSpan? span, DateTimeOffset? notBefore)
    {
        var last = now.UtcTicks / _bucketTicks;
        var count = span is { } s ? (int)Math.Clamp((s.Ticks + _bucketTicks - 1) / _bucketTicks, 1, _slots) : _slots;
        var first = last - count + 1;
        if (notBefore is { } nb)
        {
            // Only buckets that started at or after notBefore.
            first = Math.Max(first, (nb.UtcTicks + _bucketTicks - 1) / _bucketTicks);
        }

        return (first, last);
    }

    private long Merge(int[] histograms, long first, long last)
    {
        var scratch = _scratch.AsSpan();
        scratch.Clear();
        long total = 0;
        for (var b = first; b <= last; b++)
        {
            var slot = (int)(b % _slots);
            if (_slotBucket[slot] != b)
            {
                continue;
            }

            var source = histograms.AsSpan(slot * Histogram, Histogram);
            var dst = MemoryMarshal.Cast<int, Vector<int>>(scratch);
            var src = MemoryMarshal.Cast<int, Vector<int>>(source);
            for (var i = 0; i < dst.Length; i++)
            {
                dst[i] += src[i];
            }

            for (var i = dst.Length * Vector<int>.Count; i < Histogram; i++)
            {
                scratch[i] += source[i];
            }
        }

        foreach (var count in scratch)
        {
            total += count;
        }

        return total;
    }

    private bool TryLocate(long ticks, out int slot)
    {
        var bucket = ticks / _bucketTicks;
        slot = (int)(bucket % _slots);
        if (_head != Empty && bucket <= _head - _slots)
        {
            return false;
        }

        var held = _slotBucket[slot];
        if (held != bucket)
        {
            if (held > bucket)
            {
                return false;
            }

            ResetSlot(slot, bucket);
        }

        if (bucket >= _head)
        {
            _head = bucket;
            _headStartTicks = bucket * _bucketTicks;
            _headSlot = slot;
        }

        return true;
    }

    private void ResetSlot(int slot, long bucket)
    {
        _slotBucket[slot] = bucket;
        Array.Clear(_counters, slot * CounterStride, CounterStride);
        Array.Clear(_sums, slot * SumStride, SumStride);
        Array.Clear(_latency, slot * Histogram, Histogram);
        Array.Clear(_ttft, slot * Histogram, Histogram);
    }

    private static TimeSpan? ToTime(double? micros) =>
        micros is { } m ? TimeSpan.FromTicks((long)Math.Round(m * TimeSpan.TicksPerMicrosecond)) : null;
}
