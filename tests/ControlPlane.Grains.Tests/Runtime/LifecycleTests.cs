using System.Text;
using ControlPlane.Grains.Runtime;
using ControlPlane.Grains.Tests.TestGrains;

namespace ControlPlane.Grains.Tests.Runtime;

public sealed class LifecycleTests
{
    private static readonly GrainId s_counterA = new("counter", "a");

    [Fact]
    public async Task Idle_grain_is_deactivated_persisted_and_reactivated_with_its_state()
    {
        await using var host = await TestHost.StartAsync(fakeTime: true, options: o =>
        {
            o.IdleDeactivationAge = TimeSpan.FromMinutes(1);
            o.CollectionInterval = TimeSpan.FromSeconds(10);
        });
        var counter = host.Grains.GetGrain<ICounterGrain>("a");
        Assert.Equal(1, await counter.IncrementAsync());
        Assert.True(host.Silo.Runtime.Catalog.TryGet(s_counterA, out var activation));

        // Not idle long enough yet: collection passes it by.
        host.Time!.Advance(TimeSpan.FromSeconds(50));
        Assert.Equal(ActivationStatus.Valid, activation.Status);

        host.Time.Advance(TimeSpan.FromSeconds(20));
        await activation.Deactivated.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(1, host.Probe.Deactivations("a"));
        Assert.Equal([DeactivationReason.IdleTimeout], host.Probe.Reasons);
        Assert.Equal(0, host.Silo.ActivationCount);
        var stored = await host.Storage.ReadAsync(s_counterA);
        Assert.Equal("""{"value":1}""", Encoding.UTF8.GetString(stored!.Data!.Value.Span));

        Assert.Equal(2, await counter.IncrementAsync());
        Assert.Equal(2, host.Probe.Activations("a"));
    }

    [Fact]
    public async Task Calls_keep_a_grain_alive()
    {
        await using var host = await TestHost.StartAsync(fakeTime: true, options: o =>
        {
            o.IdleDeactivationAge = TimeSpan.FromMinutes(1);
            o.CollectionInterval = TimeSpan.FromSeconds(10);
        });
        var counter = host.Grains.GetGrain<ICounterGrain>("a");
        await counter.IncrementAsync();
        Assert.True(host.Silo.Runtime.Catalog.TryGet(s_counterA, out var activation));

        for (var i = 0; i < 10; i++)
        {
            host.Time!.Advance(TimeSpan.FromSeconds(30));
            await counter.GetAsync();
        }

        Assert.Equal(ActivationStatus.Valid, activation.Status);
        Assert.Equal(1, host.Probe.Activations("a"));
    }

    [Fact]
    public async Task DeactivateOnIdle_deactivates_after_the_turn_and_the_next_call_reactivates()
    {
        await using var host = await TestHost.StartAsync();
        var counter = host.Grains.GetGrain<ICounterGrain>("a");
        await counter.IncrementAsync();
        Assert.True(host.Silo.Runtime.Catalog.TryGet(s_counterA, out var activation));

        await counter.DeactivateSoonAsync();
        await activation.Deactivated.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal([DeactivationReason.ApplicationRequested], host.Probe.Reasons);
        Assert.Equal(2, await counter.IncrementAsync());
        Assert.Equal(2, host.Probe.Activations("a"));
    }

    [Fact]
    public async Task Explicit_write_and_clear_check_etags()
    {
        await using var host = await TestHost.StartAsync();
        var counter = host.Grains.GetGrain<ICounterGrain>("a");
        await counter.IncrementAsync();
        await counter.SaveAsync();

        // Someone else writes underneath the activation: its next write is a conflict, not a lost update.
        var stored = await host.Storage.ReadAsync(s_counterA);
        await host.Storage.WriteAsync(s_counterA, Encoding.UTF8.GetBytes("""{"value":100}"""), stored!.ETag, 0);
        var conflict = await Assert.ThrowsAsync<GrainStorageConflictException>(() => counter.SaveAsync().AsTask());
        Assert.Equal(s_counterA, conflict.GrainId);

        // The stale activation is gone: the next call re-activates the grain from what storage holds now.
        Assert.Equal(100, await counter.GetAsync());
        Assert.Equal(2, host.Probe.Activations("a"));
        await counter.ClearAsync();
        Assert.Equal(0, await counter.GetAsync());
    }

    [Fact]
    public async Task Clear_resets_state_in_memory_and_in_storage()
    {
        await using var host = await TestHost.StartAsync();
        var counter = host.Grains.GetGrain<ICounterGrain>("a");
        await counter.IncrementAsync();
        await counter.SaveAsync();

        await counter.ClearAsync();

        Assert.Equal(0, await counter.GetAsync());
        Assert.Null((await host.Storage.ReadAsync(s_counterA))!.Data);
        await counter.IncrementAsync();
        await counter.SaveAsync();
    }

    [Fact]
    public async Task Grain_exceptions_reach_the_caller_unchanged_and_the_grain_lives_on()
    {
        await using var host = await TestHost.StartAsync();
        var counter = host.Grains.GetGrain<ICounterGrain>("a");

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => counter.FailAsync("boom"));
        Assert.Equal("boom", error.Message);
        Assert.Equal(1, await counter.IncrementAsync());
        Assert.Equal(1, host.Probe.Activations("a"));
    }
}
