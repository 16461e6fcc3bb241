using ControlPlane.Redis;
using ControlPlane.Testing.Redis;

namespace ControlPlane.Grains.Redis.Tests;

/// <summary>A real redis-server and one shared connection to it, for a test class.</summary>
public sealed class RedisConnectionFixture : IAsyncLifetime
{
    public RedisServerFixture Server { get; } = new();

    public IRedisConnection Connection { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await Server.StartAsync();
        Connection = await RedisClient.ConnectAsync(new RedisOptions { Endpoint = Server.Endpoint });
    }

    public async Task DisposeAsync()
    {
        await Connection.DisposeAsync();
        await Server.DisposeAsync();
    }
}
