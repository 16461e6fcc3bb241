using ControlPlane.Grains.Observers;
using ControlPlane.Testing;

namespace ControlPlane.Grains.Tests.Observers;

public sealed class ObserverSubscriptionsTests
{
    [Fact]
    public async Task Failing_subscribers_are_counted_and_kept_gone_ones_are_dropped()
    {
        var time = new FakeTimeProvider();
        var subscriptions = new ObserverSubscriptions<IPing>(TimeSpan.FromMinutes(1), time);
        var ok = new Ping(null);
        var flaky = new Ping(new InvalidOperationException("slow"));
        var gone = new Ping(new GrainObserverGoneException(new GrainId(GrainId.ObserverType, "x")));
        subscriptions.Subscribe(ok);
        subscriptions.Subscribe(flaky);
        subscriptions.Subscribe(gone);
        subscriptions.Subscribe(ok);

        Assert.Equal(new NotificationResult(1, 2), await subscriptions.NotifyAsync(p => p.PingAsync()));
        Assert.Equal(2, subscriptions.Count);
        Assert.Equal(1, ok.Calls);
        Assert.True(subscriptions.Unsubscribe(flaky));
        Assert.False(subscriptions.Unsubscribe(gone));
    }

    [Fact]
    public async Task Expired_subscriptions_are_dropped_before_notifying()
    {
        var time = new FakeTimeProvider();
        var subscriptions = new ObserverSubscriptions<IPing>(TimeSpan.FromSeconds(10), time);
        var early = new Ping(null);
        subscriptions.Subscribe(early);
        time.Advance(TimeSpan.FromSeconds(5));
        var late = new Ping(null);
        subscriptions.Subscribe(late);
        time.Advance(TimeSpan.FromSeconds(5));

        Assert.Equal(new NotificationResult(1, 0), await subscriptions.NotifyAsync(p => p.PingAsync()));
        Assert.Equal(0, early.Calls);
        Assert.Equal(1, subscriptions.Count);
    }

    public interface IPing : IGrainObserver
    {
        Task PingAsync();
    }

    private sealed class Ping(Exception? error) : IPing
    {
        public int Calls { get; private set; }

        public Task PingAsync()
        {
            if (error is not null)
            {
                return Task.FromException(error);
            }

            Calls++;
            return Task.CompletedTask;
        }
    }
}
