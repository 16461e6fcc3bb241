using System.Text;
using ControlPlane.Grains.Tests.TestGrains;

namespace ControlPlane.Grains.Tests.Runtime;

public sealed class ShutdownTests
{
    [Fact]
    public async Task Shutdown_finishes_in_flight_and_queued_turns_then_refuses_calls()
    {
        await using var host = await TestHost.StartAsync();
        var turns = host.Grains.GetGrain<ITurnGrain>("busy");
        var counter = host.Grains.GetGrain<ICounterGrain>("c");
        await counter.IncrementAsync();

        var held = turns.HoldAsync();
        await host.Gate.Entered;
        var queued = turns.ExclusiveAsync();

        var stopping = host.Silo.StopAsync();
        var refused = await Assert.ThrowsAsync<GrainSiloStoppingException>(() => counter.IncrementAsync());
        Assert.Contains("shutting down", refused.Message, StringComparison.Ordinal);
        Assert.False(stopping.IsCompleted);

        host.Gate.Open();
        await stopping.WaitAsync(TimeSpan.FromSeconds(30));

        await held;
        await queued;
        Assert.Equal(1, host.Probe.Deactivations("c"));
        Assert.Contains(DeactivationReason.ShuttingDown, host.Probe.Reasons);
        Assert.Equal(0, host.Silo.ActivationCount);
        Assert.Equal("""{"value":1}""", Encoding.UTF8.GetString((await host.Storage.ReadAsync(new GrainId("counter", "c")))!.Data!.Value.Span));
        await Assert.ThrowsAsync<GrainSiloStoppingException>(() => counter.GetAsync());
    }

    [Fact]
    public async Task Calls_before_start_are_refused_with_a_clear_error()
    {
        var silo = new GrainSiloBuilder().UseMemoryStorage().AddGrain<ICounterGrain, CounterGrain>().Build();
        await using (silo)
        {
            var error = await Assert.ThrowsAsync<InvalidOperationException>(() => silo.GrainFactory.GetGrain<ICounterGrain>("x").GetAsync());
            Assert.Contains("StartAsync", error.Message, StringComparison.Ordinal);
        }
    }
}
