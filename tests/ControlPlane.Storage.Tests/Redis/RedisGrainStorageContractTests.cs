using ControlPlane.Storage.Tests.Contract;
using ControlPlane.Testing.Redis;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Persistence;
using Orleans.Storage;
using StackExchange.Redis;

namespace ControlPlane.Storage.Tests.Redis;

/// <summary>The contract against Orleans' own <see cref="RedisGrainStorage"/> (Microsoft.Orleans.Persistence.Redis) on
/// a real redis-server. The provider is built with its public constructor and started through its silo-lifecycle
/// participation, as a silo would; each test gets its own ServiceId, hence its own keys.</summary>
public sealed class RedisGrainStorageContractTests(RedisServerFixture redis) : GrainStorageContractTests, IClassFixture<RedisServerFixture>
{
    private readonly string _serviceId = "contract-" + Guid.NewGuid().ToString("N")[..12];
    private readonly Dictionary<IGrainStorage, ManualSiloLifecycle> _lifecycles = [];

    protected override async Task<IGrainStorage> CreateStorageAsync()
    {
        var storage = new RedisGrainStorage(
            "contract",
            new RedisStorageOptions { ConfigurationOptions = ConfigurationOptions.Parse(redis.Endpoint) },
            StorageTestServices.Serializer,
            Options.Create(new ClusterOptions { ServiceId = _serviceId, ClusterId = "contract" }),
            StorageTestServices.Activators,
            NullLogger<RedisGrainStorage>.Instance);
        _lifecycles[storage] = await ManualSiloLifecycle.StartAsync(storage);
        return storage;
    }

    protected override async Task<IGrainStorage> ReopenAsync(IGrainStorage storage)
    {
        await CloseAsync(storage);
        return await CreateStorageAsync();
    }

    protected override async Task CloseAsync(IGrainStorage storage)
    {
        if (_lifecycles.Remove(storage, out var lifecycle))
        {
            await lifecycle.StopAsync();
        }

        await ((RedisGrainStorage)storage).DisposeAsync();
    }
}
