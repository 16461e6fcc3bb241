using ControlPlane.Grains.Tests.TestGrains;

namespace ControlPlane.Grains.Tests.Runtime;

public sealed class ReentrancyTests
{
    [Fact]
    public async Task A_to_B_to_A_in_one_call_chain_completes()
    {
        await using var host = await TestHost.StartAsync();

        Assert.Equal("via b: echo a", await host.Grains.GetGrain<IPingGrain>("a").PingViaAsync("b"));
    }

    [Fact]
    public async Task A_grain_can_call_itself()
    {
        await using var host = await TestHost.StartAsync();

        Assert.Equal("echo self", await host.Grains.GetGrain<IPingGrain>("self").SelfCallAsync());
    }

    [Fact]
    public async Task Calls_fanned_out_in_one_chain_still_take_turns_at_the_target()
    {
        await using var host = await TestHost.StartAsync();

        // Same chain, but the target is not upstream of it: no reentrancy, so at most one turn inside.
        Assert.Equal(1, await host.Grains.GetGrain<IPingGrain>("fan").FanOutAsync("target"));
    }
}
