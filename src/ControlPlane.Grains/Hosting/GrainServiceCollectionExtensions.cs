using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace ControlPlane.Grains;

/// <summary>Hosts a grain silo inside an application (ASP.NET Core or generic host).</summary>
public static class GrainServiceCollectionExtensions
{
    /// <summary>Registers a silo (and <see cref="IGrainFactory"/>) in <paramref name="services"/>; the host starts it
    /// and stops it gracefully with the application.</summary>
    public static IServiceCollection AddGrainSilo(this IServiceCollection services, Action<GrainSiloBuilder> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        configure(new GrainSiloBuilder(services));
        services.AddHostedService<GrainSiloHostedService>();
        return services;
    }

    private sealed class GrainSiloHostedService(GrainSilo silo) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => silo.StartAsync(cancellationToken);

        public Task StopAsync(CancellationToken cancellationToken) => silo.StopAsync(cancellationToken);
    }
}
