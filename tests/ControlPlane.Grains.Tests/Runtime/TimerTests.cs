using ControlPlane.Grains.Tests.TestGrains;

namespace ControlPlane.Grains.Tests.Runtime;

public sealed class TimerTests
{
    [Fact]
    public async Task Timer_ticks_follow_the_injected_clock()
    {
        await using var host = await TestHost.StartAsync(fakeTime: true);
        var grain = host.Grains.GetGrain<ITimerGrain>("t");
        await grain.StartTimerAsync(TimeSpan.FromSeconds(10));

        host.Time!.Advance(TimeSpan.FromSeconds(10));
        await host.TimerProbe.WaitTickAsync();
        host.Time.Advance(TimeSpan.FromSeconds(10));
        await host.TimerProbe.WaitTickAsync();

        Assert.Equal(2, host.TimerProbe.Count);
    }

    [Fact]
    public async Task A_tick_during_a_turn_waits_for_the_turn_to_end()
    {
        await using var host = await TestHost.StartAsync(fakeTime: true);
        var grain = host.Grains.GetGrain<ITimerGrain>("held");
        await grain.StartTimerAsync(TimeSpan.FromSeconds(1));

        var held = grain.HoldAsync();
        await host.Gate.Entered;
        host.Time!.Advance(TimeSpan.FromSeconds(1));
        host.Gate.Open();
        await held;
        await host.TimerProbe.WaitTickAsync();

        Assert.False(host.TimerProbe.OverlappedTurn);
    }

    [Fact]
    public async Task A_disposed_timer_stops_and_the_grain_still_takes_calls()
    {
        await using var host = await TestHost.StartAsync(fakeTime: true);
        var grain = host.Grains.GetGrain<ITimerGrain>("stop");
        await grain.StartTimerAsync(TimeSpan.FromSeconds(1));
        host.Time!.Advance(TimeSpan.FromSeconds(1));
        await host.TimerProbe.WaitTickAsync();

        await grain.StopTimerAsync();
        host.Time.Advance(TimeSpan.FromSeconds(5));
        await grain.StopTimerAsync();

        // Any tick would have been queued ahead of the second call, which has returned.
        Assert.Equal(1, host.TimerProbe.Count);
    }
}
