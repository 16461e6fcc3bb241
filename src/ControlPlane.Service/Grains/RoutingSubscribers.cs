using Microsoft.Extensions.Logging;
using Orleans.Utilities;

namespace ControlPlane.Service.Grains;

/// <summary>The nodes subscribed to a grain's changes: Orleans' <see cref="ObserverManager{TObserver}"/> keeps them
/// with an expiry (nodes renew), and a change is pushed to all of them <b>in parallel</b> and awaited, each bounded by
/// <see cref="ControlPlaneOptions.PushTimeout"/>: one slow or dead node delays nobody else, and a node that fails is
/// dropped until it subscribes again (it re-subscribes on its next renewal or membership change and then receives the
/// full current status). ObserverManager's own Notify awaits observers one after another, which is why it is not used.
/// Its grain delegates its migration to it (<see cref="IGrainMigrationParticipant"/>): the subscribers move with the grain.</summary>
internal sealed class RoutingSubscribers : IGrainMigrationParticipant
{
    private const string MigrationKey = "cp.subscribers";

    private readonly ObserverManager<IRoutingObserver> _observers;
    private readonly TimeSpan _timeout;

    public RoutingSubscribers(TimeSpan expiry, TimeSpan pushTimeout, TimeProvider time, ILogger logger)
    {
        _observers = new ObserverManager<IRoutingObserver>(expiry, logger) { GetDateTime = () => time.GetUtcNow().UtcDateTime };
        _timeout = pushTimeout;
    }

    /// <summary>A grain's subscribers, from its options.</summary>
    public static RoutingSubscribers For(ControlPlaneOptions options, TimeProvider time, ILogger logger) =>
        new(options.SubscriptionExpiry, options.PushTimeout, time, logger);

    public void OnDehydrate(IDehydrationContext dehydrationContext)
    {
        _observers.ClearExpired();
        dehydrationContext.TryAddValue(MigrationKey, _observers.Observers.Values.ToList());
    }

    public void OnRehydrate(IRehydrationContext rehydrationContext)
    {
        if (rehydrationContext.TryGetValue<List<IRoutingObserver>>(MigrationKey, out var observers) && observers is not null)
        {
            foreach (var observer in observers)
            {
                Subscribe(observer);
            }
        }
    }

    public int Count => _observers.Count;

    public void Subscribe(IRoutingObserver observer) => _observers.Subscribe(observer, observer);

    /// <summary>Pushes to every live subscriber at once and waits for their acknowledgements (or their timeout).</summary>
    public Task NotifyAsync(Func<IRoutingObserver, Task> push)
    {
        _observers.ClearExpired();
        if (_observers.Count == 0)
        {
            return Task.CompletedTask;
        }

        var observers = _observers.Observers.Values.ToArray();
        var pushes = new Task[observers.Length];
        for (var i = 0; i < observers.Length; i++)
        {
            pushes[i] = PushOneAsync(observers[i], push);
        }

        return Task.WhenAll(pushes);
    }

    private async Task PushOneAsync(IRoutingObserver observer, Func<IRoutingObserver, Task> push)
    {
        try
        {
            await push(observer).WaitAsync(_timeout);
        }
        catch (Exception error) when (error is not OutOfMemoryException)
        {
            // Unreachable or too slow: it gets the full status when it next subscribes.
            _observers.Unsubscribe(observer);
        }
    }
}
