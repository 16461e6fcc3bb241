using ControlPlane.Grains.Tests.TestGrains;

namespace ControlPlane.Grains.Tests.Runtime;

public sealed class CallTimeoutTests
{
    [Fact]
    public async Task A_call_that_outlives_the_timeout_fails_with_GrainCallTimeoutException()
    {
        await using var host = await TestHost.StartAsync(fakeTime: true, options: o => o.CallTimeout = TimeSpan.FromSeconds(5));
        var grain = host.Grains.GetGrain<ITurnGrain>("slow");

        var held = grain.HoldAsync();
        await host.Gate.Entered;
        host.Time!.Advance(TimeSpan.FromSeconds(4));
        Assert.False(held.IsCompleted);

        // Timeouts are swept in ticks of 1/30 of the timeout: due at 5 s, reported by 5 s + one tick.
        host.Time.Advance(TimeSpan.FromSeconds(1.5));

        var error = await Assert.ThrowsAsync<GrainCallTimeoutException>(() => held);
        Assert.Equal(new GrainId("turns", "slow"), error.GrainId);
        Assert.Equal(TimeSpan.FromSeconds(5), error.Timeout);
        Assert.Contains("ITurnGrain.HoldAsync", error.Message, StringComparison.Ordinal);

        // The grain itself is fine once its turn ends.
        host.Gate.Open();
        Assert.Equal(0, await grain.PeekMaxOverlapAsync());
    }

    [Fact]
    public async Task A_call_queued_behind_a_stuck_turn_times_out_and_is_skipped()
    {
        await using var host = await TestHost.StartAsync(fakeTime: true, options: o => o.CallTimeout = TimeSpan.FromSeconds(5));
        var grain = host.Grains.GetGrain<ITurnGrain>("stuck");

        var held = grain.HoldAsync();
        await host.Gate.Entered;
        var queued = grain.ExclusiveAsync();
        host.Time!.Advance(TimeSpan.FromSeconds(6));

        await Assert.ThrowsAsync<GrainCallTimeoutException>(() => held);
        await Assert.ThrowsAsync<GrainCallTimeoutException>(() => queued);
        host.Gate.Open();

        // The abandoned call never ran: no exclusive turn overlapped or completed after the hold.
        Assert.Equal(0, await grain.PeekMaxOverlapAsync());
    }
}
