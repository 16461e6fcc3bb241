using System.Collections.Concurrent;
using System.Diagnostics;
using ControlPlane.Testing.Redis;
using Xunit.Abstractions;

namespace ControlPlane.Grains.Cluster.Tests;

/// <summary>A redis-server and three node processes; each test owns one (fault tests break it).</summary>
internal sealed class TestCluster : IAsyncDisposable
{
    private readonly string _prefix = "cp:t" + Guid.NewGuid().ToString("N")[..8];
    private int _started;

    private TestCluster(RedisServerFixture redis, ClusterTimings timings)
    {
        Redis = redis;
        Timings = timings;
    }

    public RedisServerFixture Redis { get; }

    public ClusterTimings Timings { get; }

    public List<ClusterNode> Nodes { get; } = [];

    public static async Task<TestCluster> StartAsync(int nodes = 3, bool appendOnly = false, ClusterTimings? timings = null)
    {
        var redis = await RedisServerFixture.StartNewAsync(new RedisServerOptions { AppendOnly = appendOnly });
        var cluster = new TestCluster(redis, timings ?? ClusterTimings.Short);
        try
        {
            await Task.WhenAll(Enumerable.Range(0, nodes).Select(_ => cluster.AddNodeAsync()));
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    public async Task<ClusterNode> AddNodeAsync()
    {
        var name = "n" + Interlocked.Increment(ref _started);
        var node = await ClusterNode.StartAsync(name, Redis.Endpoint, _prefix, Timings);
        lock (Nodes)
        {
            Nodes.Add(node);
        }

        return node;
    }

    public ClusterNode[] Running()
    {
        lock (Nodes)
        {
            return [.. Nodes.Where(n => !n.HasExited)];
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var node in Nodes)
        {
            await node.DisposeAsync();
        }

        await Redis.DisposeAsync();
    }
}

/// <summary>Increments counters through chosen nodes until stopped, counting acknowledgements and failures per key.</summary>
internal sealed class CounterLoad(string[] keys, Func<ClusterNode[]> nodes, ITestOutputHelper output) : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, long> _acks = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _failures = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ConcurrentQueue<long>> _failureTimes = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ConcurrentQueue<long>> _successes = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private Task? _running;

    public IReadOnlyDictionary<string, long> Acks => _acks;

    public IReadOnlyDictionary<string, long> Failures => _failures;

    public long TotalFailures => _failures.Values.Sum();

    public TimeSpan Now => _clock.Elapsed;

    /// <summary>When <paramref name="key"/> first had an acknowledged increment after <paramref name="since"/> (on this load's clock).</summary>
    public TimeSpan? FirstSuccessAfter(string key, TimeSpan since) =>
        _successes.TryGetValue(key, out var times) && times.Where(t => t > since.Ticks).DefaultIfEmpty(-1).Min() is var first and >= 0
            ? TimeSpan.FromTicks(first)
            : null;

    /// <summary>Acknowledged increments of <paramref name="key"/> that completed after <paramref name="since"/>.</summary>
    public long AcksSince(string key, TimeSpan since) => _successes.TryGetValue(key, out var times) ? times.Count(t => t > since.Ticks) : 0;

    /// <summary>Failed increments of <paramref name="key"/> that completed after <paramref name="since"/>.</summary>
    public long FailuresSince(string key, TimeSpan since) => _failureTimes.TryGetValue(key, out var times) ? times.Count(t => t > since.Ticks) : 0;

    /// <summary>Counts an increment made outside the load (e.g. through a frozen node).</summary>
    public void Record(string key, bool acknowledged)
    {
        if (acknowledged)
        {
            _acks.AddOrUpdate(key, 1, (_, n) => n + 1);
            _successes.GetOrAdd(key, _ => new ConcurrentQueue<long>()).Enqueue(_clock.Elapsed.Ticks);
        }
        else
        {
            _failures.AddOrUpdate(key, 1, (_, n) => n + 1);
            _failureTimes.GetOrAdd(key, _ => new ConcurrentQueue<long>()).Enqueue(_clock.Elapsed.Ticks);
        }
    }

    public void Start(int workers)
    {
        _running = Task.WhenAll(Enumerable.Range(0, workers).Select(w => Task.Run(() => WorkAsync(w))));
    }

    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        if (_running is not null)
        {
            await _running;
        }
    }

    /// <summary>Stops the load (also when a test failed before stopping it, so no worker outlives the cluster).</summary>
    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _stop.Dispose();
    }

    private async Task WorkAsync(int worker)
    {
        var random = new Random(worker);
        while (!_stop.IsCancellationRequested)
        {
            var key = keys[random.Next(keys.Length)];
            var candidates = nodes();
            if (candidates.Length == 0)
            {
                await Task.Delay(10);
                continue;
            }

            var node = candidates[random.Next(candidates.Length)];
            try
            {
                await node.IncrementAsync(key);
                Record(key, acknowledged: true);
            }
#pragma warning disable CA1031 // Every failure is counted and reported by the test.
            catch (Exception error)
#pragma warning restore CA1031
            {
                if (node.HasExited)
                {
                    continue; // The driver talked to a node that died; the grain call never started.
                }

                Record(key, acknowledged: false);
                output.WriteLine($"{_clock.Elapsed.TotalSeconds:F2}s {key} via {node.Name}: {error.Message}");
            }
        }
    }
}
