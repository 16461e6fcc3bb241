using Microsoft.Extensions.Logging;
using Orleans.Utilities;

namespace ControlPlane.Service.Grains;

/// <summary>The nodes subscribed to a grain's changes: Orleans' <see cref="ObserverManager{TObserver}"/> keeps them
/// with an expiry (nodes renew), and a change is pushed to all of them <b>in parallel</b> and awaited, each bounded by
/// <see cref="ControlPlaneOptions.PushTimeout"/>: one slow or dead node delays nobody else. A node whose push failed
/// (too slow, or its handler threw) stays subscribed and gets the grain's latest status again after
/// <see cref="RetryDelay"/> (the grain's retry timer, <see cref="UseRetryTimer"/>): a status is whole, so the latest one
/// repairs every push it missed. Before, such a node was dropped and routed on a stale status until it re-subscribed
/// (its renewal, up to a third of the subscription expiry: 20 s). A node that fails <see cref="MaxFailedPushes"/>
/// pushes in a row, or is gone (its client or silo unavailable), is dropped; it gets the full status when it
/// subscribes again. ObserverManager's own Notify awaits observers one after another, which is why it is not used.
/// Its grain delegates its migration to it (<see cref="IGrainMigrationParticipant"/>): the subscribers move with the grain.</summary>
internal sealed class RoutingSubscribers : IGrainMigrationParticipant
{
    private const string MigrationKey = "cp.subscribers";

    private readonly ObserverManager<IRoutingObserver> _observers;
    private readonly TimeSpan _timeout;
    // Subscribers whose last pushes failed, with how many in a row.
    private readonly Dictionary<IRoutingObserver, int> _lagging = [];
    private Func<IRoutingObserver, Task>? _latest;
    private IGrainTimer? _retry;

    public RoutingSubscribers(TimeSpan expiry, TimeSpan pushTimeout, TimeProvider time, ILogger logger)
    {
        _observers = new ObserverManager<IRoutingObserver>(expiry, logger) { GetDateTime = () => time.GetUtcNow().UtcDateTime };
        _timeout = pushTimeout;
    }

    /// <summary>How long after a failed push the latest status is pushed to the node again.</summary>
    public static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(1);

    /// <summary>Failed pushes in a row after which a node is dropped.</summary>
    public const int MaxFailedPushes = 3;

    /// <summary>Subscribers whose last push failed and that wait for a retry.</summary>
    public int Lagging => _lagging.Count;

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

    /// <summary>Adds or renews a subscriber. A subscribe reply carries the current status, so a lagging one is caught up.</summary>
    public void Subscribe(IRoutingObserver observer)
    {
        _observers.Subscribe(observer, observer);
        _lagging.Remove(observer);
    }

    /// <summary>The grain's timer for retried pushes: registered by the grain on activation, not started
    /// (<see cref="Timeout.InfiniteTimeSpan"/>), calling <see cref="RetryLaggingAsync"/>; started by a failed push.</summary>
    public void UseRetryTimer(IGrainTimer timer) => _retry = timer;

    /// <summary>Pushes to every live subscriber at once and waits for their acknowledgements (or their timeout).</summary>
    public Task NotifyAsync(Func<IRoutingObserver, Task> push)
    {
        _latest = push;
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

    /// <summary>Pushes the latest status again to the subscribers whose last push failed (the retry timer's tick).</summary>
    public Task RetryLaggingAsync()
    {
        _observers.ClearExpired();
        if (_latest is not { } push || _lagging.Count == 0)
        {
            return Task.CompletedTask;
        }

        var live = _observers.Observers;
        var retries = new List<Task>(_lagging.Count);
        foreach (var observer in _lagging.Keys.ToArray())
        {
            if (live.ContainsKey(observer))
            {
                retries.Add(PushOneAsync(observer, push));
            }
            else
            {
                _lagging.Remove(observer); // expired or dropped meanwhile
            }
        }

        return Task.WhenAll(retries);
    }

    private async Task PushOneAsync(IRoutingObserver observer, Func<IRoutingObserver, Task> push)
    {
        try
        {
            await push(observer).WaitAsync(_timeout);
            _lagging.Remove(observer);
        }
        catch (Exception error) when (error is not OutOfMemoryException)
        {
            var failures = _lagging.GetValueOrDefault(observer) + 1;
            if (error is ClientNotAvailableException or SiloUnavailableException || failures >= MaxFailedPushes)
            {
                // Gone, or failing for good: it gets the full status when it next subscribes.
                _observers.Unsubscribe(observer);
                _lagging.Remove(observer);
                return;
            }

            // Too slow this time, or its handler failed: the latest status again shortly.
            _lagging[observer] = failures;
            _retry?.Change(RetryDelay, Timeout.InfiniteTimeSpan);
        }
    }
}
