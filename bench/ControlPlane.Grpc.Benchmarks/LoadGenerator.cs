namespace ControlPlane.Grpc.Benchmarks;

/// <summary>Throughput and latency of one scenario run.</summary>
internal sealed record LoadResult(long Operations, long Units, double Seconds, double P50Ms, double P99Ms)
{
    public double UnitsPerSecond => Units / Seconds;
}

/// <summary>Closed-loop load: N callers each run the operation back to back for a fixed time.</summary>
internal static class LoadGenerator
{
    public static async Task<LoadResult> RunAsync(Func<Task<int>> operation, int concurrency, TimeSpan duration)
    {
        var clock = TimeProvider.System;
        using var stop = new CancellationTokenSource();
        var latencies = new List<long>[concurrency];
        var units = new long[concurrency];
        var start = clock.GetTimestamp();
        var workers = new Task[concurrency];
        for (var w = 0; w < concurrency; w++)
        {
            var index = w;
            latencies[index] = new List<long>(16 * 1024);
            workers[w] = Task.Run(async () =>
            {
                var mine = latencies[index];
                while (!stop.IsCancellationRequested)
                {
                    var t0 = clock.GetTimestamp();
                    units[index] += await operation();
                    mine.Add(clock.GetTimestamp() - t0);
                }
            });
        }

        await Task.Delay(duration);
        await stop.CancelAsync();
        await Task.WhenAll(workers);
        var elapsed = clock.GetElapsedTime(start).TotalSeconds;

        var all = latencies.SelectMany(l => l).ToArray();
        Array.Sort(all);
        double Percentile(double p) => all.Length == 0 ? 0 : clock.GetElapsedTime(0, all[Math.Min(all.Length - 1, (int)(p * all.Length))]).TotalMilliseconds;
        return new LoadResult(all.Length, units.Sum(), elapsed, Percentile(0.50), Percentile(0.99));
    }
}
