using System.Numerics;

namespace ControlPlane.Domain.Health;

/// <summary>Log-linear bucketing of durations in microseconds (HdrHistogram-like): values below 64 µs get
/// one exact bucket each; every power-of-two range above is split into 32 equal sub-buckets. A bucket's
/// midpoint is within <see cref="MaxRelativeError"/> (1/64, about 1.6 %) of any value in it.</summary>
public static class LatencyHistogram
{
    private const int SubBucketBits = 5;
    private const int SubBuckets = 1 << SubBucketBits;          // 32 per octave
    private const int LinearLimit = SubBuckets * 2;             // 0..63 µs stored exactly
    private const int FirstOctave = SubBucketBits + 1;          // 2^6 = 64 µs
    private const int LastOctave = 29;                          // up to 2^30 µs, about 17.9 minutes

    /// <summary>Number of buckets in one histogram (832: 64 exact + 24 octaves x 32).</summary>
    public const int BucketCount = LinearLimit + ((LastOctave - FirstOctave + 1) * SubBuckets);

    /// <summary>Largest value kept apart; longer durations are clamped into the last bucket.</summary>
    public const long MaxMicroseconds = (1L << (LastOctave + 1)) - 1;

    /// <summary>Worst-case relative error of a reported percentile against the exact sample value.</summary>
    public const double MaxRelativeError = 1.0 / (2 * SubBuckets);

    /// <summary>Bucket index of a duration in microseconds (negative values count as 0).</summary>
    public static int IndexOf(long micros)
    {
        if (micros < LinearLimit)
        {
            return micros < 0 ? 0 : (int)micros;
        }

        if (micros > MaxMicroseconds)
        {
            micros = MaxMicroseconds;
        }

        var octave = 63 - BitOperations.LeadingZeroCount((ulong)micros);
        var sub = (int)(micros >> (octave - SubBucketBits)) & (SubBuckets - 1);
        return LinearLimit + ((octave - FirstOctave) * SubBuckets) + sub;
    }

    /// <summary>Smallest value that falls in bucket <paramref name="index"/>.</summary>
    public static long LowerBound(int index)
    {
        if (index < LinearLimit)
        {
            return index;
        }

        var octave = FirstOctave + ((index - LinearLimit) / SubBuckets);
        var sub = (index - LinearLimit) % SubBuckets;
        return (long)(SubBuckets + sub) << (octave - SubBucketBits);
    }

    /// <summary>Width of bucket <paramref name="index"/> in microseconds.</summary>
    public static long Width(int index) =>
        index < LinearLimit ? 1 : 1L << (FirstOctave + ((index - LinearLimit) / SubBuckets) - SubBucketBits);

    /// <summary>The value reported for bucket <paramref name="index"/>: its midpoint.</summary>
    public static double Representative(int index) => LowerBound(index) + ((Width(index) - 1) / 2.0);

    /// <summary>Microseconds of a <see cref="TimeSpan"/> (ticks are 100 ns).</summary>
    public static long ToMicros(TimeSpan value) => value.Ticks / TimeSpan.TicksPerMicrosecond;

    /// <summary>Nearest-rank percentile of merged <paramref name="counts"/> holding <paramref name="total"/>
    /// samples, in microseconds; null when there are no samples.</summary>
    public static double? Percentile(ReadOnlySpan<int> counts, long total, double quantile)
    {
        if (total <= 0)
        {
            return null;
        }

        var rank = Math.Max(1, (long)Math.Ceiling(quantile * total));
        long seen = 0;
        for (var i = 0; i < counts.Length; i++)
        {
            seen += counts[i];
            if (seen >= rank)
            {
                return Representative(i);
            }
        }

        return Representative(counts.Length - 1);
    }
}
