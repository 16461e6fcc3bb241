namespace ControlPlane.Service.Benchmarks;

/// <summary>Throughput and latency of one scenario run.</summary>
internal sealed record LoadResult(long Operations, long Units, double Seconds, double P50Ms, double P99Ms, double CpuSeconds)
{
    public double UnitsPerSecond => Units / Seconds;

    /// <summary>Process CPU time (client and in-process server) per unit: unlike throughput, barely moved by
    /// other processes competing for the cores.</summary>
    public double CpuMicrosecondsPerUnit => CpuSeconds * 1e6 / Units;
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
        using var self = System.Diagnostics.Process.GetCurrentProcess();
        var cpuBefore = self.TotalProcessorTime;
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
        self.Refresh();
        var cpu = (self.TotalProcessorTime - cpuBefore).TotalSeconds;

        var all = latencies.SelectMany(l => l).ToArray();
        Array.Sort(all);
        double Percentile(double p) => all.Length == 0 ? 0 : clock.GetElapsedTime(0, all[Math.Min(all.Length - 1, (int)(p * all.Length))]).TotalMilliseconds;
        return new LoadResult(all.Length, units.Sum(), elapsed, Percentile(0.50), Percentile(0.99), cpu);
    }

    /// <summary>Bytes allocated in the whole process (client and in-process server) per call, calls made one at a time.</summary>
    public static async Task<double> AllocatedBytesPerOperationAsync(Func<Task<int>> operation, int operations = 2000)
    {
        await operation();
        var before = GC.GetTotalAllocatedBytes(precise: true);
        for (var i = 0; i < operations; i++)
        {
            await operation();
        }

        return (GC.GetTotalAllocatedBytes(precise: true) - before) / (double)operations;
    }
}
