using ControlPlane.Grains.Placement;
using ControlPlane.Grains.Redis.Membership;
using ControlPlane.Grains.Redis.Placement;
using ControlPlane.Grains.Redis.Storage;
using ControlPlane.Redis;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ControlPlane.Grains.Redis;

/// <summary>Turns a silo into a cluster member over Redis.</summary>
public static class RedisClusteringSiloBuilderExtensions
{
    /// <summary>Registers Redis membership (leases, view, self-fence), the claiming directory and Redis state storage,
    /// all over one shared <see cref="IRedisConnection"/> (the registered one, or one created from
    /// <see cref="RedisClusterOptions.Redis"/>) plus one pub/sub connection for view notices.</summary>
    public static GrainSiloBuilder UseRedisClustering(this GrainSiloBuilder builder, Action<RedisClusterOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        var services = builder.Services;
        services.AddOptions<RedisClusterOptions>().Configure(configure);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RedisClusterOptions>, RedisClusterOptionsValidator>());
        services.TryAddSingleton(sp => RedisClient.Create(
            sp.GetRequiredService<IOptions<RedisClusterOptions>>().Value.Redis,
            sp.GetRequiredService<TimeProvider>(),
            sp.GetService<ILoggerFactory>()));
        services.TryAddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<RedisClusterOptions>>().Value;
            var time = sp.GetRequiredService<TimeProvider>();
            var loggers = sp.GetService<ILoggerFactory>();
            var subscriber = sp.GetService<IRedisSubscriber>();
            return new RedisClusterMembership(
                sp.GetRequiredService<IRedisConnection>(),
                subscriber,
                subscriber is null ? ct => RedisClient.ConnectSubscriberAsync(options.Redis, time, loggers, cancellationToken: ct) : null,
                options,
                sp.GetRequiredService<IOptions<GrainRuntimeOptions>>().Value.SiloId,
                time,
                sp.GetService<Random>(),
                loggers?.CreateLogger<RedisClusterMembership>());
        });
        services.Replace(ServiceDescriptor.Singleton<IClusterMembership>(sp => sp.GetRequiredService<RedisClusterMembership>()));
        builder.UseDirectory(sp => new RedisGrainDirectory(sp.GetRequiredService<RedisClusterMembership>()));
        builder.UseStorage(sp => new RedisGrainStorage(sp.GetRequiredService<RedisClusterMembership>()));
        return builder;
    }
}
