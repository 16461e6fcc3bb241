namespace ControlPlane.Grains.Observers;

/// <summary>The subscribers of a grain: observer references with an expiry. Subscribers re-subscribe before expiry
/// (subscriptions live in the activation's memory and die with it, so renewal is also how they survive a grain
/// moving or restarting). Notification fans out to all live subscribers and drops the ones that are gone.
/// Use it from grain turns only: it relies on the turn scheduler instead of locks.</summary>
/// <typeparam name="TObserver">The observer interface.</typeparam>
public sealed class ObserverSubscriptions<TObserver>
    where TObserver : class, IGrainObserver
{
    private readonly Dictionary<object, Subscription> _subscriptions = [];
    private readonly TimeSpan _expiry;
    private readonly TimeProvider _timeProvider;

    /// <summary>Creates an empty set.</summary>
    /// <param name="expiry">How long a subscription lives without renewal; at least 1 s.</param>
    /// <param name="timeProvider">The clock (pass the grain's <c>TimeProvider</c>).</param>
    public ObserverSubscriptions(TimeSpan expiry, TimeProvider timeProvider)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(expiry, TimeSpan.FromSeconds(1));
        ArgumentNullException.ThrowIfNull(timeProvider);
        _expiry = expiry;
        _timeProvider = timeProvider;
    }

    /// <summary>The number of subscriptions, including expired ones not yet dropped.</summary>
    public int Count => _subscriptions.Count;

    /// <summary>Adds a subscriber or renews its expiry.</summary>
    public void Subscribe(TObserver observer)
    {
        ArgumentNullException.ThrowIfNull(observer);
        _subscriptions[KeyOf(observer)] = new Subscription(observer, _timeProvider.GetUtcNow() + _expiry);
    }

    /// <summary>Removes a subscriber; false if it was not subscribed.</summary>
    public bool Unsubscribe(TObserver observer)
    {
        ArgumentNullException.ThrowIfNull(observer);
        return _subscriptions.Remove(KeyOf(observer));
    }

    /// <summary>Drops expired subscriptions, then calls <paramref name="notification"/> on every subscriber at once
    /// and waits for all. Subscribers that are gone (<see cref="GrainObserverGoneException"/>) are dropped; other
    /// failures are counted and the subscription kept (the subscriber may be briefly slow or restarting).</summary>
    /// <returns>How many subscribers were notified successfully, and how many failed.</returns>
    public async Task<NotificationResult> NotifyAsync(Func<TObserver, Task> notification)
    {
        ArgumentNullException.ThrowIfNull(notification);
        var now = _timeProvider.GetUtcNow();
        var live = new List<KeyValuePair<object, Subscription>>(_subscriptions.Count);
        foreach (var pair in _subscriptions)
        {
            if (pair.Value.ExpiresAt > now)
            {
                live.Add(pair);
            }
        }

        if (live.Count != _subscriptions.Count)
        {
            _subscriptions.Clear();
            foreach (var pair in live)
            {
                _subscriptions.Add(pair.Key, pair.Value);
            }
        }

        var deliveries = live.Select(pair => Deliver(pair.Value.Observer, notification)).ToArray();
        var outcomes = await Task.WhenAll(deliveries);
        int delivered = 0, failed = 0;
        for (var i = 0; i < outcomes.Length; i++)
        {
            switch (outcomes[i])
            {
                case Outcome.Delivered:
                    delivered++;
                    break;
                case Outcome.Gone:
                    failed++;
                    _subscriptions.Remove(live[i].Key);
                    break;
                default:
                    failed++;
                    break;
            }
        }

        return new NotificationResult(delivered, failed);
    }

    private static object KeyOf(TObserver observer) => observer is IGrainReference reference ? reference.GrainId : observer;

    private static async Task<Outcome> Deliver(TObserver observer, Func<TObserver, Task> notification)
    {
        try
        {
            await notification(observer);
            return Outcome.Delivered;
        }
        catch (GrainObserverGoneException)
        {
            return Outcome.Gone;
        }
#pragma warning disable CA1031 // One subscriber's failure must not stop the others' notifications.
        catch (Exception)
#pragma warning restore CA1031
        {
            return Outcome.Failed;
        }
    }

    private enum Outcome
    {
        Delivered,
        Gone,
        Failed,
    }

    private readonly record struct Subscription(TObserver Observer, DateTimeOffset ExpiresAt);
}

/// <summary>The outcome of <see cref="ObserverSubscriptions{TObserver}.NotifyAsync"/>.</summary>
/// <param name="Delivered">Subscribers that received the notification.</param>
/// <param name="Failed">Subscribers that did not (gone ones are also unsubscribed).</param>
public readonly record struct NotificationResult(int Delivered, int Failed);
