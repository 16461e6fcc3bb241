using System.Diagnostics;
using Xunit.Abstractions;

namespace ControlPlane.Grains.Cluster.Tests;

/// <summary>Protocol properties of cluster mode across real processes. Wall-clock figures are printed; the only timing
/// assertion is the documented bound "grains resume within lease + margin".</summary>
public sealed class ClusterTests(ITestOutputHelper output)
{
    // Detection (lease expiry) plus a new activation's claim and state read; generous for a loaded 2-core machine.
    private static readonly TimeSpan s_resumeMargin = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Thousand_grains_called_from_every_node_have_one_activation_each_and_lose_no_increment()
    {
        await using var cluster = await TestCluster.StartAsync();
        var keys = Enumerable.Range(0, 1000).Select(i => $"g{i}").ToArray();
        using var gate = new SemaphoreSlim(96);
        var failures = 0;

        await Task.WhenAll(cluster.Nodes.SelectMany(node => keys.Select(async key =>
        {
            await gate.WaitAsync();
            try
            {
                await node.IncrementAsync(key);
            }
#pragma warning disable CA1031 // Counted and asserted below.
            catch (Exception error)
#pragma warning restore CA1031
            {
                Interlocked.Increment(ref failures);
                output.WriteLine($"{key} via {node.Name}: {error.Message}");
            }
            finally
            {
                gate.Release();
            }
        })));

        Assert.Equal(0, failures);
        var activations = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var node in cluster.Nodes)
        {
            foreach (var (key, count) in await node.ActivationsAsync())
            {
                activations[key] = activations.GetValueOrDefault(key) + count;
            }
        }

        Assert.Equal(keys.Length, activations.Count);
        Assert.All(keys, key => Assert.Equal(1, activations[key]));
        foreach (var key in keys)
        {
            Assert.Equal(cluster.Nodes.Count, await cluster.Nodes[0].GetAsync(key));
        }
    }

    [Fact]
    public async Task Killed_node_grains_resume_elsewhere_within_lease_and_keep_every_acknowledged_write()
    {
        await using var cluster = await TestCluster.StartAsync();
        var keys = Enumerable.Range(0, 200).Select(i => $"k{i}").ToArray();
        var victim = cluster.Nodes[0];
        var survivors = cluster.Nodes.Skip(1).ToArray();
        await using var load = new CounterLoad(keys, () => survivors, output);
        load.Start(workers: 16);
        var orphans = await victim.HeldUnderLoadAsync();
        var killedAt = load.Now;
        victim.Kill();

        // Every grain the victim held must take acknowledged writes again on the survivors.
        var bound = cluster.Timings.Lease + s_resumeMargin;
        while (orphans.Any(k => load.FirstSuccessAfter(k, killedAt) is null) && load.Now - killedAt < bound)
        {
            await Task.Delay(100);
        }

        await load.StopAsync();
        var resumed = orphans.Select(k => (load.FirstSuccessAfter(k, killedAt) ?? TimeSpan.MaxValue) - killedAt).Max();
        output.WriteLine($"{orphans.Length} grains of the killed node resumed within {resumed.TotalSeconds:F2} s of the kill " +
            $"(lease {cluster.Timings.Lease.TotalSeconds} s, bound lease + {s_resumeMargin.TotalSeconds} s); failed calls during the outage: {load.TotalFailures}");
        Assert.True(resumed <= bound, $"grains resumed after {resumed}, beyond lease + margin {bound}");

        foreach (var key in keys)
        {
            var value = await survivors[0].GetAsync(key);
            var acks = load.Acks.GetValueOrDefault(key);
            var ambiguous = load.Failures.GetValueOrDefault(key);
            Assert.InRange(value, acks, acks + ambiguous);
        }
    }

    [Fact]
    public async Task Rolling_restart_under_load_fails_no_call()
    {
        await using var cluster = await TestCluster.StartAsync();
        var keys = Enumerable.Range(0, 100).Select(i => $"r{i}").ToArray();
        ClusterNode? leaving = null;
        await using var load = new CounterLoad(keys, () => [.. cluster.Running().Where(n => !ReferenceEquals(n, Volatile.Read(ref leaving)))], output);
        load.Start(workers: 8);
        await Task.Delay(TimeSpan.FromSeconds(1));

        foreach (var node in cluster.Nodes.ToArray())
        {
            await cluster.AddNodeAsync();
            Volatile.Write(ref leaving, node);
            await node.TerminateAsync();
            await Task.Delay(TimeSpan.FromSeconds(1));
        }

        await load.StopAsync();
        Assert.Equal(0, load.TotalFailures);
        var reader = cluster.Running()[0];
        foreach (var key in keys)
        {
            Assert.Equal(load.Acks.GetValueOrDefault(key), await reader.GetAsync(key));
        }
    }
}
