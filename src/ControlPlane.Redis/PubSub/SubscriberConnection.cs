using System.Threading.Channels;
using ControlPlane.Redis.Connection;
using ControlPlane.Redis.Protocol;
using Microsoft.Extensions.Logging;

namespace ControlPlane.Redis.PubSub;

/// <summary>The pub/sub connection. The registry of channels and handlers is the source of truth:
/// SUBSCRIBE is sent when a channel gets its first handler and again for every channel after each
/// reconnect. Messages are dispatched in order by one task so the reader never waits on a handler.</summary>
internal sealed class SubscriberConnection : IRedisSubscriber
{
    private readonly RedisOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ConnectionSupervisor _supervisor;

    // Serializes registry changes with the commands that mirror them, so SUBSCRIBE/UNSUBSCRIBE
    // for one channel reach the server in the order the registry changed.
    private readonly SemaphoreSlim _operations = new(1, 1);
    private readonly Lock _gate = new();
    private readonly Dictionary<SubscriptionKey, ChannelEntry> _entries = [];
    private readonly Channel<(ChannelEntry Entry, RedisMessage Message)> _dispatch =
        Channel.CreateUnbounded<(ChannelEntry, RedisMessage)>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });

    private readonly Task _dispatcher;
    private PhysicalConnection? _connection;

    public SubscriberConnection(RedisOptions options, TimeProvider time, ILogger logger, Random random)
    {
        _options = options;
        _time = time;
        _logger = logger;
        var clientName = options.ClientName is { } name ? name + ":sub" : null;
        _supervisor = new ConnectionSupervisor(
            "pub/sub",
            options.Endpoint,
            ct => PhysicalConnection.OpenAsync(options, clientName, selectDatabase: false, time, ct),
            ResubscribeAsync,
            RunSessionAsync,
            new ReconnectBackoff(options.ReconnectMinDelay, options.ReconnectMaxDelay, random),
            time,
            logger)
        {
            Sender = this,
        };
        _dispatcher = Task.Run(DispatchAsync);
    }

    public event EventHandler<RedisConnectionStateChangedEventArgs>? StateChanged
    {
        add => _supervisor.StateChanged += value;
        remove => _supervisor.StateChanged -= value;
    }

    public RedisConnectionState State => _supervisor.State;

    internal Task FirstConnection => _supervisor.FirstConnection;

    internal void Start() => _supervisor.Start();

    public Task<IRedisSubscription> SubscribeAsync(string channel, Action<RedisMessage> handler, CancellationToken cancellationToken = default) =>
        AddAsync(new SubscriptionKey(channel, IsPattern: false), handler, cancellationToken);

    public Task<IRedisSubscription> SubscribePatternAsync(string pattern, Action<RedisMessage> handler, CancellationToken cancellationToken = default) =>
        AddAsync(new SubscriptionKey(pattern, IsPattern: true), handler, cancellationToken);

    public async ValueTask DisposeAsync()
    {
        await _supervisor.DisposeAsync().ConfigureAwait(false);
        _dispatch.Writer.TryComplete();
        await _dispatcher.ConfigureAwait(false);
    }

    private async Task<IRedisSubscription> AddAsync(SubscriptionKey key, Action<RedisMessage> handler, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(key.Name);
        ArgumentNullException.ThrowIfNull(handler);
        ObjectDisposedException.ThrowIf(State == RedisConnectionState.Disposed, this);

        var subscription = new Subscription(this, key, handler);
        ChannelEntry? entry;
        await _operations.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            bool first;
            lock (_gate)
            {
                first = !_entries.TryGetValue(key, out entry);
                if (entry is null)
                {
                    entry = new ChannelEntry();
                    _entries[key] = entry;
                }

                entry.Handlers = [.. entry.Handlers, subscription];
            }

            if (first && _connection is { } connection)
            {
                await TrySendAsync(connection, key.IsPattern ? "PSUBSCRIBE" : "SUBSCRIBE", [key.Name]).ConfigureAwait(false);
            }
        }
        finally
        {
            _operations.Release();
        }

        try
        {
            // Confirmed by this connection or, if it drops first, by the resubscribe after the reconnect.
            await entry.Confirmed.Task.WaitAsync(_options.CommandTimeout, _time, cancellationToken).ConfigureAwait(false);
            return subscription;
        }
        catch (TimeoutException)
        {
            await subscription.DisposeAsync().ConfigureAwait(false);
            throw new RedisTimeoutException(
                $"Redis did not confirm the subscription to '{key.Name}' within {_options.CommandTimeout.TotalMilliseconds} ms.",
                commandSent: State == RedisConnectionState.Connected);
        }
        catch (OperationCanceledException)
        {
            await subscription.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private async ValueTask RemoveAsync(Subscription subscription)
    {
        await _operations.WaitAsync().ConfigureAwait(false);
        try
        {
            lock (_gate)
            {
                if (!_entries.TryGetValue(subscription.Key, out var entry) || !entry.Handlers.Contains(subscription))
                {
                    return;
                }

                entry.Handlers = [.. entry.Handlers.Where(h => h != subscription)];
                if (entry.Handlers.Length > 0)
                {
                    return;
                }

                _entries.Remove(subscription.Key);
            }

            if (_connection is { } connection)
            {
                var key = subscription.Key;
                await TrySendAsync(connection, key.IsPattern ? "PUNSUBSCRIBE" : "UNSUBSCRIBE", [key.Name]).ConfigureAwait(false);
            }
        }
        finally
        {
            _operations.Release();
        }
    }

    private async Task ResubscribeAsync(PhysicalConnection connection, CancellationToken cancellationToken)
    {
        await _operations.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            List<SubscriptionKey> keys;
            lock (_gate)
            {
                keys = [.. _entries.Keys];
            }

            RedisArgument[] channels = [.. keys.Where(k => !k.IsPattern).Select(k => (RedisArgument)k.Name)];
            RedisArgument[] patterns = [.. keys.Where(k => k.IsPattern).Select(k => (RedisArgument)k.Name)];
            if (channels.Length > 0)
            {
                RespCommandWriter.Write(connection.Output, "SUBSCRIBE", channels);
            }

            if (patterns.Length > 0)
            {
                RespCommandWriter.Write(connection.Output, "PSUBSCRIBE", patterns);
            }

            await connection.Output.FlushAsync(cancellationToken).ConfigureAwait(false);
            _connection = connection;
        }
        finally
        {
            _operations.Release();
        }
    }

    private async Task<Exception?> RunSessionAsync(PhysicalConnection connection)
    {
        Exception? error = null;
        try
        {
            await ReadPushesAsync(connection).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // Any failure ends this socket; the supervisor reconnects and resubscribes.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            error = ex;
        }

        await _operations.WaitAsync().ConfigureAwait(false);
        _connection = null;
        _operations.Release();
        return error;
    }

    private static async Task TrySendAsync(PhysicalConnection connection, string command, RedisArgument[] arguments)
    {
        try
        {
            RespCommandWriter.Write(connection.Output, command, arguments);
            await connection.Output.FlushAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or InvalidOperationException or System.Net.Sockets.SocketException)
        {
            // The socket is going down; the resubscribe after the reconnect sends the registry as it is then.
        }
    }

    private Task ReadPushesAsync(PhysicalConnection connection) => RespParser.ReadAllAsync(connection.Input, Handle);

    private void Handle(RespValue push)
    {
        if (push.IsError)
        {
            Log.SubscriberErrorReply(_logger, push.AsString() ?? string.Empty);
            return;
        }

        var items = push.Type == RespType.Array ? push.ItemsOrEmpty() : [];
        var kind = items.Length > 0 && items[0].Type is RespType.BulkString or RespType.SimpleString ? items[0].AsString() : null;
        switch (kind)
        {
            case "message" when items.Length == 3:
                {
                    var channel = Text(items[1]);
                    Deliver(new SubscriptionKey(channel, false), new RedisMessage(channel, null, items[2].AsBytes() ?? []));
                    break;
                }

            case "pmessage" when items.Length == 4:
                {
                    var pattern = Text(items[1]);
                    Deliver(new SubscriptionKey(pattern, true), new RedisMessage(Text(items[2]), pattern, items[3].AsBytes() ?? []));
                    break;
                }

            case "subscribe" or "psubscribe" when items.Length == 3:
                ChannelEntry? entry;
                lock (_gate)
                {
                    _entries.TryGetValue(new SubscriptionKey(Text(items[1]), kind == "psubscribe"), out entry);
                }

                entry?.Confirmed.TrySetResult();
                break;

            case "unsubscribe" or "punsubscribe" when items.Length == 3:
            case "pong" when items.Length == 2:
                break;

            default:
                throw new RedisProtocolException($"Protocol violation: unexpected reply on the pub/sub connection: {push}.");
        }
    }

    private static string Text(RespValue value) =>
        value.Type is RespType.BulkString or RespType.SimpleString && !value.IsNull
            ? value.AsString()!
            : throw new RedisProtocolException($"Protocol violation: expected a channel name on the pub/sub connection, got {value}.");

    // Bound to the entry registered when the message is read, and only once the server confirmed that
    // entry's SUBSCRIBE: a message still in flight from an earlier, unsubscribed registration of the same
    // channel arrives before that confirmation on the socket, so it never reaches the new handlers.
    private void Deliver(SubscriptionKey key, RedisMessage message)
    {
        ChannelEntry? entry;
        lock (_gate)
        {
            _entries.TryGetValue(key, out entry);
        }

        if (entry is { Confirmed.Task.IsCompleted: true })
        {
            _dispatch.Writer.TryWrite((entry, message));
        }
    }

    private async Task DispatchAsync()
    {
        await foreach (var (entry, message) in _dispatch.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            foreach (var subscription in entry.Handlers)
            {
                // A handler whose subscription was disposed after the snapshot is not called again.
                if (subscription.IsDisposed)
                {
                    continue;
                }

                try
                {
                    subscription.Handler(message);
                }
#pragma warning disable CA1031 // One faulty handler must not stop delivery to the others.
                catch (Exception ex)
#pragma warning restore CA1031
                {
                    Log.HandlerFailed(_logger, subscription.Channel, ex);
                }
            }
        }
    }

    private readonly record struct SubscriptionKey(string Name, bool IsPattern);

    private sealed class ChannelEntry
    {
        // Copy-on-write so the dispatcher can read it outside the lock.
        public Subscription[] Handlers { get; set; } = [];

        public TaskCompletionSource Confirmed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private sealed class Subscription(SubscriberConnection owner, SubscriptionKey key, Action<RedisMessage> handler) : IRedisSubscription
    {
        private int _disposed;

        public SubscriptionKey Key => key;

        public Action<RedisMessage> Handler => handler;

        public string Channel => key.Name;

        public bool IsPattern => key.IsPattern;

        public bool IsDisposed => Volatile.Read(ref _disposed) == 1;

        public ValueTask DisposeAsync() =>
            Interlocked.Exchange(ref _disposed, 1) == 0 ? owner.RemoveAsync(this) : ValueTask.CompletedTask;
    }
}
