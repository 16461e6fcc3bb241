using ControlPlane.Drills.Observation;
using ControlPlane.Drills.Traffic;

namespace ControlPlane.Drills.Measurement;

/// <summary>Per-second series: attempts each endpoint received (differences of the simulator's cumulative counters)
/// and requests each class sent.</summary>
internal static class TrafficSeries
{
    /// <summary>Attempts per endpoint per drill second (<paramref name="seconds"/> buckets). The difference between
    /// two polls is booked to the second of the earlier poll; counts before the first poll (warm-up) are not booked.</summary>
    public static Dictionary<string, long[]> AttemptsPerSecond(IEnumerable<SimulatorCount> counts, int seconds)
    {
        var result = new Dictionary<string, long[]>(StringComparer.Ordinal);
        foreach (var group in counts.GroupBy(c => c.Endpoint, StringComparer.Ordinal))
        {
            var series = new long[seconds];
            SimulatorCount? previous = null;
            foreach (var count in group.OrderBy(c => c.At))
            {
                if (previous is not null && count.Requests > previous.Requests)
                {
                    var bucket = (int)Math.Floor(previous.At);
                    if (bucket >= 0 && bucket < seconds)
                    {
                        series[bucket] += count.Requests - previous.Requests;
                    }
                }

                previous = count;
            }

            result[group.Key] = series;
        }

        return result;
    }

    /// <summary>Requests sent per drill second by the classes in <paramref name="classes"/>.</summary>
    public static long[] RequestsPerSecond(IEnumerable<RequestSample> samples, IReadOnlySet<string> classes, int seconds)
    {
        var series = new long[seconds];
        foreach (var s in samples)
        {
            var bucket = (int)Math.Floor(s.StartSeconds);
            if (classes.Contains(s.Class) && bucket >= 0 && bucket < seconds)
            {
                series[bucket]++;
            }
        }

        return series;
    }

    /// <summary>Available requests per serving endpoint per drill second (the chart when the simulator has no counters).</summary>
    public static Dictionary<string, long[]> ServedPerSecond(IEnumerable<RequestSample> samples, int seconds)
    {
        var result = new Dictionary<string, long[]>(StringComparer.Ordinal);
        foreach (var s in samples.Where(s => s.Ok && s.Served.Endpoint is not null))
        {
            var bucket = (int)Math.Floor(s.StartSeconds);
            if (bucket < 0 || bucket >= seconds)
            {
                continue;
            }

            if (!result.TryGetValue(s.Served.Endpoint!, out var series))
            {
                result[s.Served.Endpoint!] = series = new long[seconds];
            }

            series[bucket]++;
        }

        return result;
    }
}
