using ControlPlane.Grains.Storage;
using ControlPlane.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace ControlPlane.Grains.Tests.TestGrains;

/// <summary>A started silo with every test grain registered, its probes, its storage and (optionally) fake time.</summary>
public sealed class TestHost : IAsyncDisposable
{
    private TestHost(GrainSilo silo, IGrainStorage storage, FakeTimeProvider? time, LifecycleProbe probe, TestGate gate, TimerProbe timerProbe)
    {
        Silo = silo;
        Storage = storage;
        Time = time;
        Probe = probe;
        Gate = gate;
        TimerProbe = timerProbe;
    }

    public GrainSilo Silo { get; }

    public IGrainStorage Storage { get; }

    public FakeTimeProvider? Time { get; }

    public LifecycleProbe Probe { get; }

    public TestGate Gate { get; }

    public TimerProbe TimerProbe { get; }

    public IGrainFactory Grains => Silo.GrainFactory;

    public static async Task<TestHost> StartAsync(
        IGrainStorage? storage = null,
        bool fakeTime = false,
        Action<GrainRuntimeOptions>? options = null,
        Action<GrainSiloBuilder>? configure = null)
    {
        storage ??= new MemoryGrainStorage();
        var time = fakeTime ? new FakeTimeProvider() : null;
        var probe = new LifecycleProbe();
        var gate = new TestGate();
        var timerProbe = new TimerProbe();
        var builder = new GrainSiloBuilder()
            .AddGrain<ICounterGrain, CounterGrain>()
            .AddGrain<ITurnGrain, TurnGrain>()
            .AddGrain<IPingGrain, PingGrain>()
            .AddGrain<ITimerGrain, TimerGrain>()
            .AddGrain<IPublisherGrain, PublisherGrain>()
            .UseStorage(storage);
        if (time is not null)
        {
            builder.UseTimeProvider(time);
        }

        if (options is not null)
        {
            builder.Configure(options);
        }

        builder.Services.AddSingleton(probe).AddSingleton(gate).AddSingleton(timerProbe);
        configure?.Invoke(builder);
        var silo = builder.Build();
        await silo.StartAsync();
        return new TestHost(silo, storage, time, probe, gate, timerProbe);
    }

    public async ValueTask DisposeAsync()
    {
        Gate.Open();
        await Silo.DisposeAsync();
    }
}
