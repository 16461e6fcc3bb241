using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace ControlPlane.Server.Cluster;

/// <summary>Registers the <see cref="IncarnationWatchdog"/> of one silo's lifetime.</summary>
internal static class IncarnationWatchdogServiceCollectionExtensions
{
    /// <summary>Adds the watchdog as a singleton, its options validated at start-up, and <see cref="TimeProvider.System"/>
    /// unless a <see cref="TimeProvider"/> is registered. Needs the cluster's shared <c>IConnectionMultiplexer</c>
    /// in the container. The host calls <see cref="IncarnationWatchdog.JoinAsync"/> once the silo is active.</summary>
    public static IServiceCollection AddIncarnationWatchdog(this IServiceCollection services, Action<IncarnationWatchdogOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.AddOptions<IncarnationWatchdogOptions>().Configure(configure).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<IncarnationWatchdogOptions>, IncarnationWatchdogOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IncarnationWatchdog>();
        return services;
    }
}
