using ControlPlane.Grains.Storage;

namespace ControlPlane.Grains.Grpc.Tests;

public sealed class GracefulHandOffTests
{
    [Fact]
    public async Task Stopped_silo_rejects_before_execution_and_the_caller_retries_on_the_new_owner()
    {
        var placement = new TestPlacement("x", "y");
        var addresses = new TestSiloAddresses();
        var storage = new MemoryGrainStorage();
        await using var x = await TestNode.StartAsync("x", placement, addresses, storage);
        await using var y = await TestNode.StartAsync("y", placement, addresses, storage);
        var id = new GrainId("counter", "y:handed-off");
        var counter = x.Grains.GetGrain<ICounterGrain>(id.Key);
        for (var i = 0; i < 3; i++)
        {
            await counter.Increment(1);
        }

        // y hands off: its grains flush and deactivate; its transport keeps answering, now "not serving".
        await y.Silo.StopAsync();
        placement.Leave("y");
        x.Directory.PlantStale(id, "y");

        Assert.Equal(4, await counter.Increment(1));
        Assert.Equal(0, y.Silo.ActivationCount);
    }

    [Fact]
    public async Task Remote_call_past_its_deadline_is_a_call_timeout()
    {
        var placement = new TestPlacement("p", "q");
        var addresses = new TestSiloAddresses();
        var storage = new MemoryGrainStorage();
        await using var p = await TestNode.StartAsync("p", placement, addresses, storage, o => o.CallTimeout = TimeSpan.FromMilliseconds(300));
        await using var q = await TestNode.StartAsync("q", placement, addresses, storage);

        var error = await Assert.ThrowsAsync<GrainCallTimeoutException>(() => p.Grains.GetGrain<ICounterGrain>("q:slow").Pause(TimeSpan.FromSeconds(2)));

        Assert.Equal("ICounterGrain.Pause", error.Method);
    }
}
