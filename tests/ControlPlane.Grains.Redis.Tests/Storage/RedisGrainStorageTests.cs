using ControlPlane.Grains.Redis.Storage;
using ControlPlane.Grains.Storage;
using ControlPlane.Grains.Tests.Storage;

namespace ControlPlane.Grains.Redis.Tests.Storage;

/// <summary>The storage contract against a real redis-server (each test under its own key prefix, so it starts empty).</summary>
public sealed class RedisGrainStorageTests(RedisConnectionFixture redis) : GrainStorageContractTests, IClassFixture<RedisConnectionFixture>
{
    protected override Task<IGrainStorage> CreateStorageAsync() =>
        Task.FromResult<IGrainStorage>(new RedisGrainStorage(redis.Connection, $"test:{Guid.NewGuid():N}"));
}
