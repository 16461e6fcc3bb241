using System.Diagnostics;
using System.Globalization;
using ControlPlane.Redis;
using ControlPlane.Testing.Redis;

namespace ControlPlane.Redis.Benchmarks;

/// <summary>Measures pipelined SET/GET through one multiplexed connection against a private redis-server
/// (or <c>--endpoint host:port</c>), then runs redis-benchmark on the same server for reference.
/// Usage: <c>dotnet run -c Release --project bench/ControlPlane.Redis.Benchmarks [-- --ops 200000]</c>.</summary>
internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
        var operations = IntOption(args, "--ops", 200_000);
        var endpoint = StringOption(args, "--endpoint");
        await using var server = endpoint is null ? await RedisServerFixture.StartNewAsync() : null;
        endpoint ??= server!.Endpoint;
        await using var redis = await RedisClient.ConnectAsync(new RedisOptions { Endpoint = endpoint, CommandTimeout = TimeSpan.FromSeconds(60) });
        var value = new byte[32];

        Console.WriteLine($"ControlPlane.Redis against {endpoint}, {operations:N0} operations per row, {Environment.ProcessorCount} cores");
        await Burst(redis, operations / 10, value);
        foreach (var callers in new[] { 1, 16, 256, 4096 })
        {
            await Callers(redis, operations, callers, value);
        }

        await Burst(redis, operations, value);
        if (server is not null)
        {
            await ReferenceAsync(server.Port, operations);
        }

        return 0;
    }

    // N callers, each awaiting its own SET then GET in a loop: what a busy node looks like.
    private static async Task Callers(IRedisConnection redis, int operations, int callers, byte[] value)
    {
        var perCaller = Math.Max(1, operations / callers / 2);
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, callers).Select(async c =>
        {
            var key = $"bench:{c}";
            for (var i = 0; i < perCaller; i++)
            {
                await redis.SetAsync(key, value);
                await redis.GetAsync(key);
            }
        }));
        Report($"SET+GET, {callers,5} concurrent callers", perCaller * callers * 2, clock.Elapsed);
    }

    // Every command issued before any reply is awaited: the pipelining ceiling.
    private static async Task Burst(IRedisConnection redis, int operations, byte[] value)
    {
        var clock = Stopwatch.StartNew();
        var tasks = new Task[operations];
        for (var i = 0; i < operations; i++)
        {
            var key = $"burst:{i % 1024}";
            tasks[i] = (i & 1) == 0 ? redis.SetAsync(key, value) : redis.GetAsync(key);
        }

        await Task.WhenAll(tasks);
        Report("SET/GET burst, all in flight", operations, clock.Elapsed);
    }

    private static void Report(string what, long operations, TimeSpan elapsed) =>
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {what,-36} {operations / elapsed.TotalSeconds,12:N0} ops/s"));

    private static async Task ReferenceAsync(int port, int operations)
    {
        Console.WriteLine("redis-benchmark on the same server (reference):");
        foreach (var (clients, pipeline) in new[] { (50, 1), (1, 16), (50, 16) })
        {
            var start = new ProcessStartInfo("redis-benchmark")
            {
                RedirectStandardOutput = true,
                UseShellExecute = false,
            };
            foreach (var argument in new[] { "-p", port.ToString(CultureInfo.InvariantCulture), "-t", "set,get", "-n", operations.ToString(CultureInfo.InvariantCulture), "-c", clients.ToString(CultureInfo.InvariantCulture), "-P", pipeline.ToString(CultureInfo.InvariantCulture), "-d", "32", "-q" })
            {
                start.ArgumentList.Add(argument);
            }

            try
            {
                using var process = Process.Start(start)!;
                var output = await process.StandardOutput.ReadToEndAsync();
                await process.WaitForExitAsync();
                foreach (var line in output.Split('\r', '\n').Where(l => l.Contains("requests per second", StringComparison.Ordinal)))
                {
                    Console.WriteLine($"  -c {clients,2} -P {pipeline,2}  {line.Trim()}");
                }
            }
            catch (System.ComponentModel.Win32Exception)
            {
                Console.WriteLine("  redis-benchmark not found (Debian package redis-tools)");
                return;
            }
        }
    }

    private static int IntOption(string[] args, string name, int fallback) =>
        StringOption(args, name) is { } text ? int.Parse(text, CultureInfo.InvariantCulture) : fallback;

    private static string? StringOption(string[] args, string name)
    {
        var index = Array.IndexOf(args, name);
        return index >= 0 && index + 1 < args.Length ? args[index + 1] : null;
    }
}
