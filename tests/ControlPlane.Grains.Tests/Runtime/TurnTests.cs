using ControlPlane.Grains.Tests.TestGrains;

namespace ControlPlane.Grains.Tests.Runtime;

public sealed class TurnTests
{
    [Fact]
    public async Task Ordinary_turns_never_overlap_even_across_awaits()
    {
        await using var host = await TestHost.StartAsync();
        var grain = host.Grains.GetGrain<ITurnGrain>("t");

        await Task.WhenAll(Enumerable.Range(0, 200).Select(i => Task.Run(() => i % 4 == 0 ? grain.ReadAsync() : grain.ExclusiveAsync())));

        // Encoded as maxOverlap * 1000 + (read-only turns that saw an exclusive turn inside).
        Assert.Equal(1000, await grain.PeekMaxOverlapAsync());
    }

    [Fact]
    public async Task Read_only_turns_interleave_with_each_other()
    {
        await using var host = await TestHost.StartAsync();
        var grain = host.Grains.GetGrain<ITurnGrain>("r");

        // Each call waits until two are inside at once: only possible if they interleave.
        var both = await Task.WhenAll(grain.ReadOnlyRendezvousAsync(), grain.ReadOnlyRendezvousAsync());

        Assert.Equal([2, 2], both);
    }

    [Fact]
    public async Task Exclusive_turns_do_not_interleave_so_a_rendezvous_times_out()
    {
        await using var host = await TestHost.StartAsync(fakeTime: true);
        var grain = host.Grains.GetGrain<ITurnGrain>("x");

        var first = grain.ExclusiveRendezvousAsync();
        var second = grain.ExclusiveRendezvousAsync();
        await WaitUntil(() => host.Silo.ActivationCount == 1);
        host.Time!.Advance(host.Silo.Options.CallTimeout + TimeSpan.FromSeconds(1));

        await Assert.ThrowsAsync<GrainCallTimeoutException>(() => first);
        await Assert.ThrowsAsync<GrainCallTimeoutException>(() => second);
    }

    [Fact]
    public async Task Always_interleave_runs_while_an_ordinary_turn_is_held()
    {
        await using var host = await TestHost.StartAsync();
        var grain = host.Grains.GetGrain<ITurnGrain>("a");

        var held = grain.HoldAsync();
        await host.Gate.Entered;
        var peek = await grain.PeekMaxOverlapAsync();
        Assert.False(held.IsCompleted);

        host.Gate.Open();
        await held;
        Assert.Equal(0, peek);
    }

    [Fact]
    public async Task Turns_run_on_the_activation_scheduler_not_the_callers()
    {
        await using var host = await TestHost.StartAsync();

        Assert.True(await host.Grains.GetGrain<ITurnGrain>("s").IsOnActivationSchedulerAsync());
    }

    internal static async Task WaitUntil(Func<bool> condition)
    {
        // Polls a condition that the runtime reaches asynchronously; the bound only guards against hangs.
        for (var i = 0; i < 3000 && !condition(); i++)
        {
            await Task.Delay(10);
        }

        Assert.True(condition(), "condition not reached");
    }
}
