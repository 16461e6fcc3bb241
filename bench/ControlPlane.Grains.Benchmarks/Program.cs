using System.Diagnostics;
using System.Globalization;
using ControlPlane.Grains;

namespace ControlPlane.Grains.Benchmarks;

/// <summary>A local grain call against a plain method call and a plain async method call, in one run.
/// Usage: dotnet run -c Release --project bench/ControlPlane.Grains.Benchmarks [calls] [concurrency]</summary>
internal static class Program
{
    private static readonly TimeSpan WarmUp = TimeSpan.FromSeconds(1);

    public static async Task<int> Main(string[] args)
    {
        var calls = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 200_000;
        var concurrency = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 64;
        Console.WriteLine($".NET {Environment.Version}, {Environment.ProcessorCount} cores, {calls:N0} calls per case; latency per call includes ~{TimerFloorNs():F0} ns of timestamping");
        Console.WriteLine();
        Console.WriteLine($"{"case",-46} {"calls/s",14} {"p50",10} {"p99",10} {"alloc/call",11}");

        // A throwaway grain pass: the first silo of a process measures ~3x slower (thread pool and tiering warm-up).
        await using (var warmUp = await StartSiloAsync(Timeout.InfiniteTimeSpan))
        {
            var grain = warmUp.GrainFactory.GetGrain<IBenchGrain>("warm-up");
            await MeasureAsync(calls, () => grain.IncrementAsync());
        }

        var plain = new PlainCounter();
        Report("plain method call", Measure(calls, () => plain.Increment()));
        Report("plain async method call (completes sync)", await MeasureAsync(calls, () => plain.IncrementAsync()));
        Report("plain async method call (Task.Yield hop)", await MeasureAsync(calls, () => plain.IncrementYieldingAsync()));

        await using (var silo = await StartSiloAsync(Timeout.InfiniteTimeSpan))
        {
            var grain = silo.GrainFactory.GetGrain<IBenchGrain>("one");
            Report("grain call, 1 caller (no call timeout)", await MeasureAsync(calls, () => grain.IncrementAsync()));
        }

        await using (var silo = await StartSiloAsync(TimeSpan.FromSeconds(30)))
        {
            var grain = silo.GrainFactory.GetGrain<IBenchGrain>("one");
            Report("grain call, 1 caller (30 s call timeout)", await MeasureAsync(calls, () => grain.IncrementAsync()));
            Report($"grain call, {concurrency} callers -> 1 grain", await MeasureConcurrentAsync(calls, concurrency, _ => grain));
            Report($"grain call, {concurrency} callers -> {concurrency} grains", await MeasureConcurrentAsync(calls, concurrency,
                i => silo.GrainFactory.GetGrain<IBenchGrain>(i.ToString(CultureInfo.InvariantCulture))));
        }

        return 0;
    }

    private static async Task<GrainSilo> StartSiloAsync(TimeSpan callTimeout)
    {
        var silo = new GrainSiloBuilder()
            .UseMemoryStorage()
            .AddGrain<IBenchGrain, BenchGrain>()
            .Configure(o => o.CallTimeout = callTimeout)
            .Build();
        await silo.StartAsync();
        return silo;
    }

    private static Result Measure(int calls, Func<int> call)
    {
        var warm = Stopwatch.GetTimestamp();
        while (Stopwatch.GetElapsedTime(warm) < WarmUp)
        {
            call();
        }

        var latencies = new long[calls];
        var allocated = GC.GetTotalAllocatedBytes(precise: true);
        var started = Stopwatch.GetTimestamp();
        for (var i = 0; i < calls; i++)
        {
            var t0 = Stopwatch.GetTimestamp();
            call();
            latencies[i] = Stopwatch.GetTimestamp() - t0;
        }

        return new Result(calls, Stopwatch.GetElapsedTime(started), latencies, GC.GetTotalAllocatedBytes(precise: true) - allocated);
    }

    private static async Task<Result> MeasureAsync(int calls, Func<Task<int>> call)
    {
        // Warm up for long enough that tiered compilation has settled (tier-1 with PGO).
        var warm = Stopwatch.GetTimestamp();
        while (Stopwatch.GetElapsedTime(warm) < WarmUp)
        {
            await call();
        }

        var latencies = new long[calls];
        var allocated = GC.GetTotalAllocatedBytes(precise: true);
        var started = Stopwatch.GetTimestamp();
        for (var i = 0; i < calls; i++)
        {
            var t0 = Stopwatch.GetTimestamp();
            await call();
            latencies[i] = Stopwatch.GetTimestamp() - t0;
        }

        return new Result(calls, Stopwatch.GetElapsedTime(started), latencies, GC.GetTotalAllocatedBytes(precise: true) - allocated);
    }

    private static async Task<Result> MeasureConcurrentAsync(int calls, int concurrency, Func<int, IBenchGrain> grainFor)
    {
        var perCaller = calls / concurrency;
        var latencies = new long[perCaller * concurrency];
        async Task Caller(int c, int count, bool record)
        {
            var grain = grainFor(c);
            for (var i = 0; i < count; i++)
            {
                var t0 = Stopwatch.GetTimestamp();
                await grain.IncrementAsync();
                if (record)
                {
                    latencies[(c * perCaller) + i] = Stopwatch.GetTimestamp() - t0;
                }
            }
        }

        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(c => Task.Run(() => Caller(c, 2_000, record: false))));
        var allocated = GC.GetTotalAllocatedBytes(precise: true);
        var started = Stopwatch.GetTimestamp();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(c => Task.Run(() => Caller(c, perCaller, record: true))));
        return new Result(latencies.Length, Stopwatch.GetElapsedTime(started), latencies, GC.GetTotalAllocatedBytes(precise: true) - allocated);
    }

    private static double TimerFloorNs()
    {
        var samples = new long[100_000];
        for (var i = 0; i < samples.Length; i++)
        {
            var t0 = Stopwatch.GetTimestamp();
            samples[i] = Stopwatch.GetTimestamp() - t0;
        }

        Array.Sort(samples);
        return samples[samples.Length / 2] * 1e9 / Stopwatch.Frequency;
    }

    private static void Report(string name, Result r)
    {
        Array.Sort(r.Latencies);
        static string Ns(long ticks) => FormatNs(ticks * 1e9 / Stopwatch.Frequency);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{name,-46} {r.Calls / r.Elapsed.TotalSeconds,14:N0} {Ns(r.Latencies[r.Latencies.Length / 2]),10} {Ns(r.Latencies[(int)(r.Latencies.Length * 0.99)]),10} {r.AllocatedBytes / (double)r.Calls,9:F0} B"));
    }

    private static string FormatNs(double ns) => ns >= 1_000_000 ? $"{ns / 1_000_000:F2} ms" : ns >= 1_000 ? $"{ns / 1_000:F1} us" : $"{ns:F0} ns";

    private readonly record struct Result(int Calls, TimeSpan Elapsed, long[] Latencies, long AllocatedBytes);
}

public interface IBenchGrain : IGrainWithStringKey
{
    Task<int> IncrementAsync();
}

public sealed class BenchGrain : Grain, IBenchGrain
{
    private int _value;

    public Task<int> IncrementAsync() => Task.FromResult(++_value);
}

internal sealed class PlainCounter
{
    private int _value;

    public int Increment() => ++_value;

    public Task<int> IncrementAsync() => Task.FromResult(++_value);

    public async Task<int> IncrementYieldingAsync()
    {
        await Task.Yield();
        return ++_value;
    }
}
