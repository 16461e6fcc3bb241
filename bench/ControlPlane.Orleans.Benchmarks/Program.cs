using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.Configuration;
using Orleans.Hosting;
using Orleans.Runtime;

namespace ControlPlane.OrleansBenchmarks;

/// <summary>
/// Orleans 10 grain-call throughput as a reference: two silos in this process (localhost clustering on free loopback
/// ports; silo B joins silo A), a trivial grain (<see cref="IBenchGrain.Ping"/>) called from silo A's grain factory,
/// either activated on A (local call) or on B (remote call: serialization, silo-to-silo TCP on loopback, both ends in
/// this process). Next to a plain method call and an async method awaiting one <c>Task.Yield</c>, in the same run,
/// alternating the order every other round. Timed closed loops: 1 caller (latency) and N callers to N grains
/// (throughput). <c>dotnet run -c Release --project bench/ControlPlane.Orleans.Benchmarks -- [--seconds 3]
/// [--rounds 3] [--callers 64]</c>.
/// </summary>
internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
        int seconds = Arg(args, "--seconds", 3), rounds = Arg(args, "--rounds", 3), callers = Arg(args, "--callers", 64);
        var duration = TimeSpan.FromSeconds(seconds);
        var siloPortA = FreePort();
        using var siloA = await StartSiloAsync("a", siloPortA, primary: null);
        using var siloB = await StartSiloAsync("b", FreePort(), primary: new IPEndPoint(IPAddress.Loopback, siloPortA));
        await WaitForActiveSilosAsync([siloA, siloB], 2, TimeSpan.FromSeconds(60));

        var fromA = siloA.Services.GetRequiredService<IGrainFactory>();
        var fromB = siloB.Services.GetRequiredService<IGrainFactory>();
        var addressA = siloA.Services.GetRequiredService<ILocalSiloDetails>().SiloAddress.ToString();
        var addressB = siloB.Services.GetRequiredService<ILocalSiloDetails>().SiloAddress.ToString();
        // Local grains: first called from A, so placed on A. Remote grains: first called from B (placed on B), then
        // called from A. Every placement is checked.
        var local = new IBenchGrain[callers];
        var remote = new IBenchGrain[callers];
        for (var i = 0; i < callers; i++)
        {
            local[i] = fromA.GetGrain<IBenchGrain>(i);
            await Expect(local[i], addressA);
            await Expect(fromB.GetGrain<IBenchGrain>(1_000_000 + i), addressB);
            remote[i] = fromA.GetGrain<IBenchGrain>(1_000_000 + i);
            await Expect(remote[i], addressB);
        }

        var cases = new List<Case>
        {
            new("plain method call (not inlined)", 1, null),
            new("async method, one Task.Yield hop", 1, i => YieldOnceAsync(i)),
            new("local grain call (same silo)", 1, i => new ValueTask<int>(local[0].Ping(i))),
            new("remote grain call (other silo)", 1, i => new ValueTask<int>(remote[0].Ping(i))),
            new($"async method, one Task.Yield hop, {callers} callers", callers, i => YieldOnceAsync(i)),
            new($"local grain call, {callers} callers -> {callers} grains", callers, i => new ValueTask<int>(local[i].Ping(i))),
            new($"remote grain call, {callers} callers -> {callers} grains", callers, i => new ValueTask<int>(remote[i].Ping(i))),
        };
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Orleans {typeof(IGrain).Assembly.GetName().Version}, .NET {Environment.Version}, {Environment.ProcessorCount} cores, load {LoadAverage()}; silos {addressA} and {addressB}; {rounds} rounds x {seconds} s per case; warming up"));
        foreach (var c in cases)
        {
            await RunAsync(c, TimeSpan.FromSeconds(1));
        }

        var results = cases.ToDictionary(c => c, _ => new List<Result>());
        for (var round = 1; round <= rounds; round++)
        {
            var order = round % 2 == 1 ? cases : Enumerable.Reverse(cases).ToList();
            foreach (var c in order)
            {
                var result = await RunAsync(c, duration);
                results[c].Add(result);
                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"round {round} {c.Name}: {result.CallsPerSecond:N0}/s p50 {Us(result.P50Us)} p99 {Us(result.P99Us)}, CPU {result.CpuUsPerCall:N2} µs/call{(result.Timeouts > 0 ? $", {result.Timeouts} TIMED OUT" : "")}"));
            }
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Orleans {typeof(IGrain).Assembly.GetName().Version}, .NET {Environment.Version}, {Environment.ProcessorCount} cores, load at the end {LoadAverage()}; medians of {rounds} rounds x {seconds} s"));
        Console.WriteLine();
        Console.WriteLine("| case | callers | calls/s | ns/call (1 / throughput) | p50 µs | p99 µs | CPU µs/call (whole process) | timed out (all rounds) |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        double Median(Case c, Func<Result, double> key)
        {
            var sorted = results[c].Select(key).Order().ToList();
            return sorted[sorted.Count / 2];
        }

        foreach (var c in cases)
        {
            var rate = Median(c, r => r.CallsPerSecond);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {c.Name} | {c.Callers} | {rate:N0} | {1e9 / rate:N0} | {Us(Median(c, r => r.P50Us))} | {Us(Median(c, r => r.P99Us))} | {Median(c, r => r.CpuUsPerCall):N2} | {results[c].Sum(r => r.Timeouts)} |"));
        }

        Console.WriteLine();
        void Ratio(Case a, Case b) => Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{a.Name} / {b.Name}: {Median(a, r => r.CallsPerSecond) / Median(b, r => r.CallsPerSecond):P1} of the calls/s (per round {string.Join(", ", results[a].Zip(results[b], (x, y) => (x.CallsPerSecond / y.CallsPerSecond).ToString("P0", CultureInfo.InvariantCulture)))})"));
        Ratio(cases[2], cases[1]);
        Ratio(cases[3], cases[2]);
        Ratio(cases[5], cases[4]);
        Ratio(cases[6], cases[5]);

        await siloB.StopAsync();
        await siloA.StopAsync();
        return 0;
    }

    private static string Us(double value) => double.IsNaN(value) ? "–" : value.ToString("N2", CultureInfo.InvariantCulture);

    private static async Task Expect(IBenchGrain grain, string silo)
    {
        var where = await grain.Where();
        if (where != silo)
        {
            throw new InvalidOperationException($"grain {grain.GetPrimaryKeyLong()} is on {where}, expected {silo}");
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static int PlainCall(int value) => value + 1;

    private static async ValueTask<int> YieldOnceAsync(int value)
    {
        await Task.Yield();
        return value + 1;
    }

    private static async Task<Result> RunAsync(Case c, TimeSpan duration)
    {
        using var self = Process.GetCurrentProcess();
        var cpuBefore = self.TotalProcessorTime;
        var start = Stopwatch.GetTimestamp();
        long calls;
        long timeouts = 0;
        long[] latencies;
        var elapsed = 0.0;
        if (c.Call is null)
        {
            // A plain call is a few ns: timestamping each would measure the clock, so only throughput is reported.
            calls = 0;
            var sink = 0;
            while (Stopwatch.GetElapsedTime(start) < duration)
            {
                for (var i = 0; i < 100_000; i++)
                {
                    sink = PlainCall(sink);
                }

                calls += 100_000;
            }

            GC.KeepAlive(sink);
            latencies = [];
        }
        else
        {
            var stop = false;
            var perCaller = new List<long>[c.Callers];
            var workers = new Task[c.Callers];
            for (var w = 0; w < c.Callers; w++)
            {
                var index = w;
                var mine = perCaller[index] = new List<long>(1 << 16);
                workers[w] = Task.Run(async () =>
                {
                    while (!Volatile.Read(ref stop))
                    {
                        var t0 = Stopwatch.GetTimestamp();
                        try
                        {
                            await c.Call(index);
                        }
                        catch (TimeoutException)
                        {
                            // Counted and reported: a call that got no response within the call timeout.
                            Interlocked.Increment(ref timeouts);
                            continue;
                        }

                        mine.Add(Stopwatch.GetTimestamp() - t0);
                    }
                });
            }

            await Task.Delay(duration);
            Volatile.Write(ref stop, true);
            // The rate is over the measured time: a call stuck until its timeout must not stretch it.
            elapsed = Stopwatch.GetElapsedTime(start).TotalSeconds;
            await Task.WhenAll(workers);
            latencies = [.. perCaller.SelectMany(l => l)];
            calls = latencies.Length;
        }

        if (elapsed == 0)
        {
            elapsed = Stopwatch.GetElapsedTime(start).TotalSeconds;
        }

        self.Refresh();
        var cpu = (self.TotalProcessorTime - cpuBefore).TotalSeconds;
        Array.Sort(latencies);
        double Percentile(double q) => latencies.Length == 0 ? double.NaN
            : latencies[Math.Clamp((int)Math.Ceiling(q * latencies.Length) - 1, 0, latencies.Length - 1)] * 1e6 / Stopwatch.Frequency;
        return new Result(calls / elapsed, Percentile(0.5), Percentile(0.99), cpu * 1e6 / calls, timeouts);
    }

    private static async Task<IHost> StartSiloAsync(string name, int siloPort, IPEndPoint? primary)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.UseOrleans(silo =>
        {
            silo.UseLocalhostClustering(siloPort, FreePort(), primary, serviceId: "bench", clusterId: "bench");
            silo.Configure<SiloOptions>(o => o.SiloName = name);
            // A lost response costs 5 s of one caller, not Orleans' default 30 s.
            silo.Configure<SiloMessagingOptions>(o => o.ResponseTimeout = TimeSpan.FromSeconds(5));
        });
        var host = builder.Build();
        await host.StartAsync();
        return host;
    }

    private static async Task WaitForActiveSilosAsync(IHost[] silos, int count, TimeSpan timeout)
    {
        var start = Stopwatch.GetTimestamp();
        while (silos.Any(s => s.Services.GetRequiredService<IClusterMembershipService>().CurrentSnapshot.Members.Values.Count(m => m.Status == SiloStatus.Active) < count))
        {
            if (Stopwatch.GetElapsedTime(start) > timeout)
            {
                throw new TimeoutException($"The silos did not see {count} active members within {timeout}.");
            }

            await Task.Delay(50);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

    private static int Arg(string[] args, string name, int fallback)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length && int.TryParse(args[i + 1], CultureInfo.InvariantCulture, out var value) && value > 0 ? value : fallback;
    }

    /// <summary>One case: a caller count and the call (null: the plain method call loop).</summary>
    private sealed record Case(string Name, int Callers, Func<int, ValueTask<int>>? Call);

    private sealed record Result(double CallsPerSecond, double P50Us, double P99Us, double CpuUsPerCall, long Timeouts);
}
