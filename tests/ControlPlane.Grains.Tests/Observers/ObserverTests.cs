using ControlPlane.Grains.Observers;
using System.Threading.Channels;
using ControlPlane.Grains.Tests.TestGrains;

namespace ControlPlane.Grains.Tests.Observers;

public sealed class ObserverTests
{
    [Fact]
    public async Task Subscribers_receive_pushes_in_order()
    {
        await using var host = await TestHost.StartAsync();
        var publisher = host.Grains.GetGrain<IPublisherGrain>("p");
        var received = new RecordingObserver();
        var reference = host.Grains.CreateObserverReference<IVersionObserver>(received);
        await publisher.SubscribeAsync(reference);

        for (var v = 1; v <= 20; v++)
        {
            Assert.Equal(new NotificationResult(1, 0), await publisher.PublishAsync(v));
        }

        Assert.Equal(Enumerable.Range(1, 20), await received.TakeAsync(20));
    }

    [Fact]
    public async Task Every_subscriber_gets_each_push()
    {
        await using var host = await TestHost.StartAsync();
        var publisher = host.Grains.GetGrain<IPublisherGrain>("p");
        var observers = Enumerable.Range(0, 5).Select(_ => new RecordingObserver()).ToArray();
        foreach (var o in observers)
        {
            await publisher.SubscribeAsync(host.Grains.CreateObserverReference<IVersionObserver>(o));
        }

        Assert.Equal(new NotificationResult(5, 0), await publisher.PublishAsync(7));

        foreach (var o in observers)
        {
            Assert.Equal(7, Assert.Single(await o.TakeAsync(1)));
        }
    }

    [Fact]
    public async Task A_deleted_observer_is_reported_gone_and_dropped()
    {
        await using var host = await TestHost.StartAsync();
        var publisher = host.Grains.GetGrain<IPublisherGrain>("p");
        var reference = host.Grains.CreateObserverReference<IVersionObserver>(new RecordingObserver());
        await publisher.SubscribeAsync(reference);

        await host.Grains.DeleteObserverReferenceAsync(reference);

        Assert.Equal(new NotificationResult(0, 1), await publisher.PublishAsync(1));
        Assert.Equal(0, await publisher.SubscriberCountAsync());
        await Assert.ThrowsAsync<GrainObserverGoneException>(() => reference.OnVersionAsync("direct", 1));
    }

    [Fact]
    public async Task Subscriptions_expire_unless_renewed()
    {
        await using var host = await TestHost.StartAsync(fakeTime: true);
        var publisher = host.Grains.GetGrain<IPublisherGrain>("p");
        var renewed = new RecordingObserver();
        var lapsed = new RecordingObserver();
        var renewedRef = host.Grains.CreateObserverReference<IVersionObserver>(renewed);
        await publisher.SubscribeAsync(renewedRef);
        await publisher.SubscribeAsync(host.Grains.CreateObserverReference<IVersionObserver>(lapsed));

        host.Time!.Advance(TimeSpan.FromSeconds(40));
        await publisher.SubscribeAsync(renewedRef);
        host.Time.Advance(TimeSpan.FromSeconds(40));

        Assert.Equal(new NotificationResult(1, 0), await publisher.PublishAsync(3));
        Assert.Equal(1, await publisher.SubscriberCountAsync());
        Assert.Equal(3, Assert.Single(await renewed.TakeAsync(1)));
    }

    [Fact]
    public async Task An_observer_may_call_back_into_the_publishing_grain()
    {
        await using var host = await TestHost.StartAsync();
        var publisher = host.Grains.GetGrain<IPublisherGrain>("p");
        var callingBack = new CallingBackObserver(host.Grains);
        await publisher.SubscribeAsync(host.Grains.CreateObserverReference<IVersionObserver>(callingBack));

        // The publisher's turn waits on the observer, which calls the publisher: same chain, so it may enter.
        Assert.Equal(new NotificationResult(1, 0), await publisher.PublishAsync(9));
        Assert.Equal(9, callingBack.SeenVersion);
    }

    [Fact]
    public async Task Observer_callbacks_run_one_at_a_time()
    {
        await using var host = await TestHost.StartAsync();
        var observer = new OverlapObserver();
        var reference = host.Grains.CreateObserverReference<IVersionObserver>(observer);

        await Task.WhenAll(Enumerable.Range(0, 100).Select(i => Task.Run(() => reference.OnVersionAsync("x", i))));

        Assert.Equal(1, observer.MaxInside);
        Assert.Equal(100, observer.Calls);
    }

    private sealed class RecordingObserver : IVersionObserver
    {
        private readonly Channel<int> _versions = Channel.CreateUnbounded<int>();

        public Task OnVersionAsync(string publisher, int version) => _versions.Writer.WriteAsync(version).AsTask();

        public async Task<int[]> TakeAsync(int count)
        {
            var taken = new int[count];
            for (var i = 0; i < count; i++)
            {
                taken[i] = await _versions.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
            }

            return taken;
        }
    }

    private sealed class CallingBackObserver(IGrainFactory grains) : IVersionObserver
    {
        public int SeenVersion { get; private set; }

        public async Task OnVersionAsync(string publisher, int version) =>
            SeenVersion = await grains.GetGrain<IPublisherGrain>(publisher).GetVersionAsync();
    }

    private sealed class OverlapObserver : IVersionObserver
    {
        private int _inside;

        public int MaxInside { get; private set; }

        public int Calls { get; private set; }

        public async Task OnVersionAsync(string publisher, int version)
        {
            _inside++;
            MaxInside = Math.Max(MaxInside, _inside);
            await Task.Yield();
            Calls++;
            _inside--;
        }
    }
}
