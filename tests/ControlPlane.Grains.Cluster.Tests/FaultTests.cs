using Xunit.Abstractions;

namespace ControlPlane.Grains.Cluster.Tests;

/// <summary>Zombies and storage loss: whatever happens, a counter never holds less than its acknowledged increments,
/// nor more than acknowledged plus ambiguous (failed in flight) ones; a stale write would break one bound.</summary>
public sealed class FaultTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Frozen_node_past_its_lease_is_fenced_and_the_new_owner_state_wins()
    {
        await using var cluster = await TestCluster.StartAsync();
        var keys = Enumerable.Range(0, 60).Select(i => $"s{i}").ToArray();
        var zombie = cluster.Nodes[0];
        var others = cluster.Nodes.Skip(1).ToArray();
        await using var load = new CounterLoad(keys, () => others, output);
        load.Start(workers: 8);
        var held = await zombie.HeldUnderLoadAsync();

        zombie.Freeze();
        await Task.Delay(cluster.Timings.Lease + TimeSpan.FromSeconds(2));

        // Writes attempted through the zombie: they wait in its sockets while it is frozen and run when it thaws.
        var attempts = held.Take(10).Select(async key =>
        {
            try
            {
                await zombie.IncrementAsync(key);
                load.Record(key, acknowledged: true);
            }
#pragma warning disable CA1031 // Refusal is the expected outcome; it is counted as possibly applied.
            catch (Exception error)
#pragma warning restore CA1031
            {
                load.Record(key, acknowledged: false);
                output.WriteLine($"through the zombie, {key}: {error.Message}");
            }
        }).ToArray();
        zombie.Thaw();
        await Task.WhenAll(attempts);
        await Task.Delay(cluster.Timings.Heartbeat * 4);
        await load.StopAsync();

        var fenced = await zombie.FencedAsync();
        var activations = await zombie.ActivationsAsync();
        var live = await zombie.LiveAsync();
        output.WriteLine($"zombie held {held.Length} grains; fenced writes on it: {fenced.Count}; still live there: {live.Count(held.Contains)}");
        // The zombie's old activations are gone: a grain live there now was activated again under a new claim.
        Assert.All(held.Where(live.Contains), key => Assert.True(activations[key] >= 2, $"{key} still runs its pre-freeze activation"));
        foreach (var key in keys)
        {
            var value = await others[0].GetAsync(key);
            var acks = load.Acks.GetValueOrDefault(key);
            Assert.InRange(value, acks, acks + load.Failures.GetValueOrDefault(key));
        }
    }

    [Fact]
    public async Task Redis_restarted_with_its_aof_keeps_every_acknowledged_write()
    {
        await using var cluster = await TestCluster.StartAsync(appendOnly: true);
        var keys = Enumerable.Range(0, 60).Select(i => $"p{i}").ToArray();
        await using var load = new CounterLoad(keys, cluster.Running, output);
        load.Start(workers: 8);
        await Task.Delay(TimeSpan.FromSeconds(1.5));

        await cluster.Redis.RestartAsync(keepData: true);
        await Task.Delay(TimeSpan.FromSeconds(3));
        await load.StopAsync();

        output.WriteLine($"failed calls across the Redis restart: {load.TotalFailures}");
        foreach (var key in keys)
        {
            var value = await cluster.Nodes[0].GetAsync(key);
            var acks = load.Acks.GetValueOrDefault(key);
            Assert.InRange(value, acks, acks + load.Failures.GetValueOrDefault(key));
        }
    }

    [Fact]
    public async Task Redis_restarted_empty_accepts_no_stale_write()
    {
        await using var cluster = await TestCluster.StartAsync();
        var keys = Enumerable.Range(0, 60).Select(i => $"e{i}").ToArray();
        await using var load = new CounterLoad(keys, cluster.Running, output);
        load.Start(workers: 8);
        await Task.Delay(TimeSpan.FromSeconds(1.5));

        var wipedAt = load.Now;
        await cluster.Redis.RestartAsync(keepData: false);
        await Task.Delay(cluster.Timings.Lease + TimeSpan.FromSeconds(2));
        await load.StopAsync();

        // The data is gone, so the counters restart from zero: a value above what was acknowledged (or in flight)
        // since the wipe could only come from an activation of the old incarnation writing its stale state.
        output.WriteLine($"failed calls across the wipe: {load.FailuresSince(keys[0], TimeSpan.Zero)} (first key), {load.TotalFailures} in all");
        foreach (var key in keys)
        {
            var value = await cluster.Nodes[0].GetAsync(key);
            Assert.True(value <= load.AcksSince(key, wipedAt) + load.FailuresSince(key, wipedAt),
                $"{key} = {value} after the wipe, but only {load.AcksSince(key, wipedAt)} increments were acknowledged since");
        }
    }
}
