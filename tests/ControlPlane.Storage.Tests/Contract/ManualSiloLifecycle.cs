using Orleans;
using Orleans.Runtime;

namespace ControlPlane.Storage.Tests.Contract;

/// <summary>Just enough of a silo lifecycle to start and stop providers that initialize through
/// <see cref="ILifecycleParticipant{ISiloLifecycle}"/> (Orleans' Redis provider connects there).</summary>
internal sealed class ManualSiloLifecycle : ISiloLifecycle
{
    private readonly List<(int Stage, ILifecycleObserver Observer)> _observers = [];

    public int HighestCompletedStage { get; private set; } = int.MinValue;

    public int LowestStoppedStage { get; private set; } = int.MaxValue;

    public static async Task<ManualSiloLifecycle> StartAsync(ILifecycleParticipant<ISiloLifecycle> participant)
    {
        var lifecycle = new ManualSiloLifecycle();
        participant.Participate(lifecycle);
        foreach (var (stage, observer) in lifecycle._observers.OrderBy(o => o.Stage))
        {
            await observer.OnStart(CancellationToken.None);
            lifecycle.HighestCompletedStage = stage;
        }

        return lifecycle;
    }

    public async Task StopAsync()
    {
        foreach (var (stage, observer) in _observers.OrderByDescending(o => o.Stage))
        {
            await observer.OnStop(CancellationToken.None);
            LowestStoppedStage = stage;
        }
    }

    public IDisposable Subscribe(string observerName, int stage, ILifecycleObserver observer)
    {
        _observers.Add((stage, observer));
        return new Unsubscriber(() => _observers.Remove((stage, observer)));
    }

    private sealed class Unsubscriber(Action remove) : IDisposable
    {
        public void Dispose() => remove();
    }
}
