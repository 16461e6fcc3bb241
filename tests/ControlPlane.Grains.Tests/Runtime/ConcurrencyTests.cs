using ControlPlane.Grains.Tests.TestGrains;

namespace ControlPlane.Grains.Tests.Runtime;

public sealed class ConcurrencyTests
{
    [Fact]
    public async Task One_activation_per_key_and_no_lost_increments_under_1000_concurrent_calls()
    {
        await using var host = await TestHost.StartAsync();
        const int calls = 1000;
        using var start = new ManualResetEventSlim();

        // Many threads, each with its own reference to the same grain.
        var callers = Enumerable.Range(0, calls).Select(_ => Task.Run(async () =>
        {
            start.Wait();
            return await host.Grains.GetGrain<ICounterGrain>("hot").IncrementAsync();
        })).ToArray();
        start.Set();
        var results = await Task.WhenAll(callers);

        Assert.Equal(calls, await host.Grains.GetGrain<ICounterGrain>("hot").GetAsync());
        Assert.Equal(Enumerable.Range(1, calls), results.Order());
        Assert.Equal(1, host.Probe.Activations("hot"));
    }

    [Fact]
    public async Task Concurrent_first_calls_to_many_keys_activate_each_key_once()
    {
        await using var host = await TestHost.StartAsync();
        const int keys = 50;
        const int callsPerKey = 20;

        await Task.WhenAll(Enumerable.Range(0, keys * callsPerKey).Select(i =>
            Task.Run(() => host.Grains.GetGrain<ICounterGrain>($"k{i % keys}").IncrementAsync())));

        for (var k = 0; k < keys; k++)
        {
            Assert.Equal(callsPerKey, await host.Grains.GetGrain<ICounterGrain>($"k{k}").GetAsync());
            Assert.Equal(1, host.Probe.Activations($"k{k}"));
        }

        Assert.Equal(keys, host.Silo.ActivationCount);
    }
}
