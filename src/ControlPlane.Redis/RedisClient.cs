using ControlPlane.Redis.Connection;
using ControlPlane.Redis.PubSub;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace ControlPlane.Redis;

/// <summary>Creates connections. Each logical connection reconnects on its own for its whole life.</summary>
public static class RedisClient
{
    /// <summary>Opens the multiplexed command connection and waits for the first successful
    /// handshake; throws <see cref="RedisConnectionException"/> if that first attempt fails.</summary>
    /// <param name="options">Validated and copied; later changes have no effect.</param>
    /// <param name="timeProvider">Clock for timeouts and backoff; <see cref="TimeProvider.System"/> by default.</param>
    /// <param name="loggerFactory">Where connection events are logged.</param>
    /// <param name="random">Source of reconnect jitter; <see cref="Random.Shared"/> by default.</param>
    /// <param name="cancellationToken">Abandons the first attempt.</param>
    public static async Task<IRedisConnection> ConnectAsync(
        RedisOptions options,
        TimeProvider? timeProvider = null,
        ILoggerFactory? loggerFactory = null,
        Random? random = null,
        CancellationToken cancellationToken = default)
    {
        var connection = CreateConnection(options, timeProvider, loggerFactory, random);
        connection.Start();
        await WaitForFirstConnectionAsync(connection.FirstConnection, connection, cancellationToken).ConfigureAwait(false);
        return connection;
    }

    /// <summary>Creates the multiplexed command connection and connects in the background, so a node can
    /// start while Redis is down; commands queue (or fail fast) until it is up.</summary>
    public static IRedisConnection Create(
        RedisOptions options, TimeProvider? timeProvider = null, ILoggerFactory? loggerFactory = null, Random? random = null)
    {
        var connection = CreateConnection(options, timeProvider, loggerFactory, random);
        connection.Start();
        return connection;
    }

    /// <summary>Opens a dedicated pub/sub connection and waits for the first successful handshake.</summary>
    public static async Task<IRedisSubscriber> ConnectSubscriberAsync(
        RedisOptions options,
        TimeProvider? timeProvider = null,
        ILoggerFactory? loggerFactory = null,
        Random? random = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var subscriber = new SubscriberConnection(
            options.Clone(),
            timeProvider ?? TimeProvider.System,
            (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("ControlPlane.Redis.Subscriber"),
            random ?? Random.Shared);
        subscriber.Start();
        await WaitForFirstConnectionAsync(subscriber.FirstConnection, subscriber, cancellationToken).ConfigureAwait(false);
        return subscriber;
    }

    private static MultiplexedConnection CreateConnection(
        RedisOptions options, TimeProvider? timeProvider, ILoggerFactory? loggerFactory, Random? random)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        return new MultiplexedConnection(
            options.Clone(),
            timeProvider ?? TimeProvider.System,
            (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("ControlPlane.Redis.Connection"),
            random ?? Random.Shared);
    }

    private static async Task WaitForFirstConnectionAsync(Task firstConnection, IAsyncDisposable owner, CancellationToken cancellationToken)
    {
        try
        {
            await firstConnection.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await owner.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }
}
