using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Text;
using ControlPlane.Grains.Storage;
using ControlPlane.Grains.Tests.TestGrains;

namespace ControlPlane.Grains.Tests.Diagnostics;

public sealed class GrainMetricsTests
{
    [Fact]
    public async Task Lifecycle_events_and_timeouts_are_counted_per_silo()
    {
        var silo = $"metrics-{Guid.NewGuid():N}";
        var counts = new ConcurrentDictionary<string, long>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "ControlPlane.Grains")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            string? siloTag = null, reason = null;
            foreach (var tag in tags)
            {
                if (tag.Key == "silo")
                {
                    siloTag = tag.Value as string;
                }
                else if (tag.Key == "reason")
                {
                    reason = tag.Value as string;
                }
            }

            if (siloTag == silo)
            {
                counts.AddOrUpdate(reason is null ? instrument.Name : $"{instrument.Name}/{reason}", value, (_, n) => n + value);
            }
        });
        listener.Start();

        var storage = new MemoryGrainStorage();
        await storage.WriteAsync(new GrainId("counter", "broken"), Encoding.UTF8.GetBytes("garbage"), null, 0);
        await using (var host = await TestHost.StartAsync(storage, fakeTime: true, options: o => { o.SiloId = silo; o.CallTimeout = TimeSpan.FromSeconds(3); }))
        {
            await host.Grains.GetGrain<ICounterGrain>("a").IncrementAsync();
            await Assert.ThrowsAsync<GrainStateCorruptException>(() => host.Grains.GetGrain<ICounterGrain>("broken").GetAsync());
            var held = host.Grains.GetGrain<ITurnGrain>("slow").HoldAsync();
            await host.Gate.Entered;
            host.Time!.Advance(TimeSpan.FromSeconds(4));
            await Assert.ThrowsAsync<GrainCallTimeoutException>(() => held);
        }

        Assert.Equal(2, counts.GetValueOrDefault("grains.activations"));
        Assert.Equal(1, counts.GetValueOrDefault("grains.activation.failures"));
        Assert.Equal(1, counts.GetValueOrDefault("grains.call.timeouts"));
        Assert.Equal(2, counts.GetValueOrDefault("grains.deactivations/ShuttingDown"));
    }
}
