using ControlPlane.Grains.Redis.Membership;
using ControlPlane.Grains.Redis.Placement;
using ControlPlane.Grains.Redis.Storage;
using ControlPlane.Redis;

namespace ControlPlane.Grains.Redis.Tests;

/// <summary>One silo's cluster pieces (membership, directory, storage) over its own Redis connections, as a separate
/// process would have them.</summary>
public sealed class ClusterNode : IAsyncDisposable
{
    private ClusterNode(IRedisConnection redis, IRedisSubscriber subscriber, RedisClusterMembership membership)
    {
        Redis = redis;
        Subscriber = subscriber;
        Membership = membership;
        Directory = new RedisGrainDirectory(membership);
        Storage = new RedisGrainStorage(membership);
    }

    public IRedisConnection Redis { get; }

    public IRedisSubscriber Subscriber { get; }

    public RedisClusterMembership Membership { get; }

    public RedisGrainDirectory Directory { get; }

    public RedisGrainStorage Storage { get; }

    public string SiloId => Membership.LocalSiloId;

    /// <summary>Short leases for tests: heartbeat 100 ms, lease 1 s (self-fence at 800 ms).</summary>
    public static RedisClusterOptions TestOptions(string prefix, string address = "127.0.0.1:1") => new()
    {
        KeyPrefix = prefix,
        SiloAddress = address,
        HeartbeatInterval = TimeSpan.FromMilliseconds(100),
        LeaseDuration = TimeSpan.FromSeconds(3),
    };

    private static int s_seed;

    public static async Task<ClusterNode> StartAsync(
        string endpoint, RedisClusterOptions options, string name = "node", TimeProvider? time = null, bool join = true, Random? random = null)
    {
        var redisOptions = new RedisOptions { Endpoint = endpoint, CommandTimeout = TimeSpan.FromSeconds(2) };
        var redis = await RedisClient.ConnectAsync(redisOptions);
        var subscriber = await RedisClient.ConnectSubscriberAsync(redisOptions);
        var membership = new RedisClusterMembership(redis, subscriber, options, name, time, random ?? new Random(Interlocked.Increment(ref s_seed)));
        var node = new ClusterNode(redis, subscriber, membership);
        if (join)
        {
            try
            {
                await membership.JoinAsync();
            }
            catch
            {
                await node.DisposeAsync();
                throw;
            }
        }

        return node;
    }

    public async ValueTask DisposeAsync()
    {
        await Membership.DisposeAsync();
        await Subscriber.DisposeAsync();
        await Redis.DisposeAsync();
    }
}
