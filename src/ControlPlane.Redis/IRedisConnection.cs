namespace ControlPlane.Redis;

/// <summary>A multiplexed, pipelined Redis connection shared by many concurrent callers. Replies
/// come back in order, so callers never wait for each other's round trips. The seam behind which
/// another client (StackExchange.Redis' <c>IDatabase.ExecuteAsync</c>/<c>ScriptEvaluateAsync</c>) could
/// replace ours; typed commands are extension methods in <see cref="RedisCommands"/> over these members.</summary>
/// <remarks>
/// Delivery is at most once: a command written before the connection drops fails with
/// <see cref="RedisConnectionException"/> (<c>CommandSent = true</c>) and is never retried by the client,
/// because it may have executed. Commands issued while disconnected wait for the reconnect
/// (up to <see cref="RedisOptions.CommandTimeout"/>) or fail fast (<see cref="RedisOptions.QueueWhileDisconnected"/>).
/// Do not send blocking commands (BLPOP, WAIT) or SUBSCRIBE here: they would stall every other caller.
/// </remarks>
public interface IRedisConnection : IAsyncDisposable
{
    /// <summary>Whether the socket is up now.</summary>
    RedisConnectionState State { get; }

    /// <summary>Raised (on a background thread) when the connection goes down or comes back.
    /// Pub/sub messages and in-flight replies may have been lost in between.</summary>
    event EventHandler<RedisConnectionStateChangedEventArgs>? StateChanged;

    /// <summary>Sends any command and returns its reply.</summary>
    /// <param name="command">The command name, one word (<c>GET</c>; for <c>SCRIPT LOAD</c> pass <c>SCRIPT</c> and <c>LOAD</c> as the first argument).</param>
    /// <param name="arguments">The arguments, each sent as a binary-safe bulk string.</param>
    /// <param name="cancellationToken">Cancels the wait; a command already sent may still execute.</param>
    /// <returns>The reply. Error replies are thrown as <see cref="RedisServerException"/>.</returns>
    /// <exception cref="RedisServerException">The server answered with an error.</exception>
    /// <exception cref="ArgumentException">The command cannot be shared (see remarks).</exception>
    /// <exception cref="RedisTimeoutException">No reply within <see cref="RedisOptions.CommandTimeout"/>.</exception>
    /// <exception cref="RedisConnectionException">The connection was lost or is unavailable.</exception>
    Task<RespValue> ExecuteAsync(string command, IReadOnlyList<RedisArgument> arguments, CancellationToken cancellationToken = default);

    /// <summary>Runs a Lua script by SHA1 (<c>EVALSHA</c>); if the server's script cache lacks it
    /// (<c>NOSCRIPT</c>, so it did not run), sends the source once with <c>EVAL</c>, which also caches it.</summary>
    /// <exception cref="RedisServerException">The script raised an error (or the server refused it).</exception>
    Task<RespValue> EvaluateAsync(RedisScript script, IReadOnlyList<RedisArgument> keys, IReadOnlyList<RedisArgument> arguments, CancellationToken cancellationToken = default);
}

/// <summary>A dedicated pub/sub connection. Subscriptions are kept by the client and re-sent after
/// every reconnect; messages published while disconnected are lost (Redis pub/sub is fire-and-forget),
/// so watch <see cref="StateChanged"/> and re-read state after a reconnect.</summary>
public interface IRedisSubscriber : IAsyncDisposable
{
    /// <summary>Whether the socket is up now.</summary>
    RedisConnectionState State { get; }

    /// <summary>Raised when the connection goes down, or comes back with its subscriptions re-sent.</summary>
    event EventHandler<RedisConnectionStateChangedEventArgs>? StateChanged;

    /// <summary>Subscribes <paramref name="handler"/> to a channel and returns once the server confirmed
    /// the subscription (<c>SUBSCRIBE</c>). Handlers run one message at a time, in publish order, on a
    /// dispatcher task: keep them short and hand real work off. Dispose the result to unsubscribe; once disposed, the handler is not called again.</summary>
    /// <exception cref="RedisTimeoutException">No confirmation within <see cref="RedisOptions.CommandTimeout"/>.</exception>
    Task<IRedisSubscription> SubscribeAsync(string channel, Action<RedisMessage> handler, CancellationToken cancellationToken = default);

    /// <summary>Like <see cref="SubscribeAsync"/> for a glob pattern (<c>PSUBSCRIBE</c>).</summary>
    Task<IRedisSubscription> SubscribePatternAsync(string pattern, Action<RedisMessage> handler, CancellationToken cancellationToken = default);
}

/// <summary>One handler's subscription; disposing it stops delivery to that handler and sends
/// <c>UNSUBSCRIBE</c>/<c>PUNSUBSCRIBE</c> when it was the channel's last handler.</summary>
public interface IRedisSubscription : IAsyncDisposable
{
    /// <summary>The channel, or the pattern when <see cref="IsPattern"/>.</summary>
    string Channel { get; }

    /// <summary>True for a <c>PSUBSCRIBE</c> pattern.</summary>
    bool IsPattern { get; }
}

/// <summary>A message delivered to a subscription.</summary>
public sealed class RedisMessage
{
    /// <summary>Creates a message.</summary>
    public RedisMessage(string channel, string? pattern, ReadOnlyMemory<byte> payload)
    {
        Channel = channel;
        Pattern = pattern;
        Payload = payload;
    }

    /// <summary>The channel it was published to.</summary>
    public string Channel { get; }

    /// <summary>The pattern that matched, for pattern subscriptions.</summary>
    public string? Pattern { get; }

    /// <summary>The raw payload.</summary>
    public ReadOnlyMemory<byte> Payload { get; }

    /// <summary>The payload decoded as UTF-8.</summary>
    public string PayloadText => System.Text.Encoding.UTF8.GetString(Payload.Span);
}
