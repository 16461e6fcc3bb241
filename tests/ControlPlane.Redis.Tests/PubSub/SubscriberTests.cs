using System.Collections.Concurrent;
using System.Threading.Channels;
using ControlPlane.Testing.Redis;

namespace ControlPlane.Redis.Tests.PubSub;

public sealed class SubscriberTests : IClassFixture<RedisServerFixture>, IAsyncLifetime
{
    private readonly RedisServerFixture _server;
    private IRedisConnection? _redis;
    private IRedisSubscriber? _subscriber;

    public SubscriberTests(RedisServerFixture server)
    {
        _server = server;
    }

    private IRedisConnection Redis => _redis!;

    private IRedisSubscriber Subscriber => _subscriber!;

    public async Task InitializeAsync()
    {
        _redis = await RedisClient.ConnectAsync(RedisTestSupport.Options(_server));
        _subscriber = await RedisClient.ConnectSubscriberAsync(RedisTestSupport.Options(_server));
    }

    public async Task DisposeAsync()
    {
        await _subscriber!.DisposeAsync();
        await _redis!.DisposeAsync();
    }

    [Fact]
    public async Task Delivers_messages_in_publish_order_once_subscribed()
    {
        var channel = Channel();
        var inbox = new Inbox();
        await using var subscription = await Subscriber.SubscribeAsync(channel, inbox.Add);

        Assert.Equal(channel, subscription.Channel);
        Assert.False(subscription.IsPattern);
        for (var i = 0; i < 100; i++)
        {
            Assert.Equal(1, await Redis.PublishAsync(channel, $"m{i}"));
        }

        var received = await inbox.Take(100);
        Assert.Equal(Enumerable.Range(0, 100).Select(i => $"m{i}"), received.Select(m => m.PayloadText));
        Assert.All(received, m => Assert.Equal(channel, m.Channel));
        Assert.Equal($"controlplane:sub", await ClientNameOfSubscriber());
    }

    [Fact]
    public async Task Delivers_pattern_messages_with_channel_and_pattern_and_binary_payloads()
    {
        var prefix = Channel();
        var inbox = new Inbox();
        await using var subscription = await Subscriber.SubscribePatternAsync(prefix + ":*", inbox.Add);
        var payload = new byte[] { 0, 13, 10, 255, 42 };

        Assert.Equal(1, await Redis.PublishAsync(prefix + ":node-7", payload));

        var message = Assert.Single(await inbox.Take(1));
        Assert.Equal(prefix + ":node-7", message.Channel);
        Assert.Equal(prefix + ":*", message.Pattern);
        Assert.Equal(payload, message.Payload.ToArray());
        Assert.True(subscription.IsPattern);
    }

    [Fact]
    public async Task Keeps_other_handlers_when_one_unsubscribes_or_throws()
    {
        var channel = Channel();
        var first = new Inbox();
        var second = new Inbox();
        var one = await Subscriber.SubscribeAsync(channel, first.Add);
        await using var faulty = await Subscriber.SubscribeAsync(channel, _ => throw new InvalidOperationException("handler bug"));
        await using var two = await Subscriber.SubscribeAsync(channel, second.Add);

        Assert.Equal(1, await Redis.PublishAsync(channel, "both"));
        Assert.Equal(["both"], (await first.Take(1)).Select(m => m.PayloadText));
        await one.DisposeAsync();
        Assert.Equal(1, await Redis.PublishAsync(channel, "second only"));

        Assert.Equal(["both", "second only"], (await second.Take(2)).Select(m => m.PayloadText));
        Assert.Empty(first.Pending);
    }

    [Fact]
    public async Task Unsubscribes_from_the_server_when_the_last_handler_leaves()
    {
        var channel = Channel();
        var subscription = await Subscriber.SubscribeAsync(channel, _ => { });
        Assert.Equal(1, await Redis.PublishAsync(channel, "x"));

        await subscription.DisposeAsync();

        // UNSUBSCRIBE and PUBLISH travel on different sockets; wait until the server has applied it.
        await RedisTestSupport.Eventually(async () => await Redis.PublishAsync(channel, "x") == 0, "the server dropped the subscription");
        var again = new Inbox();
        await using var resubscribed = await Subscriber.SubscribeAsync(channel, again.Add);
        Assert.Equal(1, await Redis.PublishAsync(channel, "back"));
        Assert.Equal("back", Assert.Single(await again.Take(1)).PayloadText);
    }

    [Fact]
    public async Task Rejects_bad_arguments()
    {
        await Assert.ThrowsAsync<ArgumentException>(() => Subscriber.SubscribeAsync(string.Empty, _ => { }));
        await Assert.ThrowsAsync<ArgumentNullException>(() => Subscriber.SubscribeAsync("c", null!));
    }

    private async Task<string> ClientNameOfSubscriber() =>
        (await _server.CliAsync("CLIENT", "LIST")).Split('\n').Select(line => line.Split(' ').First(f => f.StartsWith("name=", StringComparison.Ordinal))[5..])
            .Single(name => name.EndsWith(":sub", StringComparison.Ordinal));

    private static string Channel() => "test:" + Guid.NewGuid().ToString("N");

    /// <summary>Collects delivered messages for assertions.</summary>
    internal sealed class Inbox
    {
        private readonly Channel<RedisMessage> _messages = System.Threading.Channels.Channel.CreateUnbounded<RedisMessage>();

        public IReadOnlyCollection<RedisMessage> Pending
        {
            get
            {
                var left = new List<RedisMessage>();
                while (_messages.Reader.TryRead(out var m))
                {
                    left.Add(m);
                }

                return left;
            }
        }

        public void Add(RedisMessage message) => _messages.Writer.TryWrite(message);

        public async Task<List<RedisMessage>> Take(int count)
        {
            using var guard = new CancellationTokenSource(RedisTestSupport.HangGuard);
            var taken = new List<RedisMessage>();
            while (taken.Count < count)
            {
                taken.Add(await _messages.Reader.ReadAsync(guard.Token));
            }

            return taken;
        }
    }
}

/// <summary>Pub/sub across server restarts (one server per test).</summary>
public sealed class SubscriberReconnectTests
{
    [Fact]
    public async Task Resubscribes_after_the_server_restarts()
    {
        await using var server = await RedisServerFixture.StartNewAsync();
        await using var redis = await RedisClient.ConnectAsync(RedisTestSupport.Options(server));
        await using var subscriber = await RedisClient.ConnectSubscriberAsync(RedisTestSupport.Options(server));
        var inbox = new SubscriberTests.Inbox();
        var patternInbox = new SubscriberTests.Inbox();
        await using var subscription = await subscriber.SubscribeAsync("membership", inbox.Add);
        await using var patterns = await subscriber.SubscribePatternAsync("grain:*", patternInbox.Add);
        Assert.Equal(1, await redis.PublishAsync("membership", "before"));
        var down = RedisTestSupport.NextState(h => subscriber.StateChanged += h, RedisConnectionState.Disconnected);
        var up = RedisTestSupport.NextState(h => subscriber.StateChanged += h, RedisConnectionState.Connected);

        // The publisher reconnects too; a PUBLISH sent before it noticed the restart would fail (at most once).
        var publisherUp = RedisTestSupport.NextState(h => redis.StateChanged += h, RedisConnectionState.Connected);

        await server.RestartAsync(keepData: false);
        await down;
        await up;
        await publisherUp;

        // The new server knows nothing of our subscriptions; only the client's resubscribe can make these land.
        await RedisTestSupport.Eventually(async () => await redis.PublishAsync("membership", "after") == 1, "the channel was resubscribed");
        await RedisTestSupport.Eventually(async () => await redis.PublishAsync("grain:42", "moved") == 1, "the pattern was resubscribed");

        Assert.Equal(["before", "after"], (await inbox.Take(2)).Select(m => m.PayloadText));
        Assert.Equal("moved", (await patternInbox.Take(1))[0].PayloadText);
        Assert.Equal(RedisConnectionState.Connected, subscriber.State);
    }

    [Fact]
    public async Task A_subscription_made_while_down_completes_when_the_server_returns()
    {
        await using var server = await RedisServerFixture.StartNewAsync();
        await using var redis = await RedisClient.ConnectAsync(RedisTestSupport.Options(server));
        await using var subscriber = await RedisClient.ConnectSubscriberAsync(
            RedisTestSupport.Options(server, o => o.CommandTimeout = TimeSpan.FromSeconds(15)));
        var down = RedisTestSupport.NextState(h => subscriber.StateChanged += h, RedisConnectionState.Disconnected);
        var publisherDown = RedisTestSupport.NextState(h => redis.StateChanged += h, RedisConnectionState.Disconnected);
        await server.StopAsync();
        await down;
        await publisherDown;

        var inbox = new SubscriberTests.Inbox();
        var pending = subscriber.SubscribeAsync("late", inbox.Add);
        Assert.False(pending.IsCompleted);
        await server.StartAsync();
        await using var subscription = await pending;

        Assert.Equal(1, await redis.PublishAsync("late", "hello"));
        Assert.Equal("hello", (await inbox.Take(1))[0].PayloadText);
    }

    [Fact]
    public async Task A_subscription_the_server_never_confirms_times_out()
    {
        await using var server = await RedisServerFixture.StartNewAsync();
        await using var subscriber = await RedisClient.ConnectSubscriberAsync(
            RedisTestSupport.Options(server, o => o.CommandTimeout = TimeSpan.FromMilliseconds(200)));
        server.Pause();

        var error = await Assert.ThrowsAsync<RedisTimeoutException>(() => subscriber.SubscribeAsync("frozen", _ => { }));
        server.Resume();

        Assert.True(error.CommandSent);
    }
}
