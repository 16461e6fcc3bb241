using ControlPlane.Grpc.Server;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace ControlPlane.Grpc.Health;

/// <summary>Registers <c>grpc.health.v1.Health</c>.</summary>
public static class GrpcHealthServiceCollectionExtensions
{
    /// <summary>Serves <c>grpc.health.v1.Health</c> from a <see cref="HealthStatusRegistry"/> singleton
    /// (inject it to set statuses). Every status turns NOT_SERVING when the host starts stopping.</summary>
    public static IServiceCollection AddGrpcHealth(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddSingleton<HealthStatusRegistry>();
        services.AddGrpcService(sp =>
        {
            var registry = sp.GetRequiredService<HealthStatusRegistry>();
            sp.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping.Register(registry.Shutdown);
            return new HealthService(registry).CreateDefinition();
        });
        return services;
    }
}
