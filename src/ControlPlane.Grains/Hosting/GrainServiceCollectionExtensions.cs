using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace ControlPlane.Grains;

/// <summary>Hosts a grain silo inside an application (ASP.NET Core or generic host).</summary>
public static class GrainServiceCollectionExtensions
{
    /// <summary>Registers a silo (and <see cref="IGrainFactory"/>) in <paramref name="services"/>; the host starts it
    /// and stops it gracefully with the application. The silo starts once every hosted service has started
    /// (<see cref="IHostedLifecycleService.StartedAsync"/>), i.e. after the web server listens: a cluster member
    /// joins only when other silos can call it. Hosted services that need the silo start in their own StartedAsync,
    /// registered after the silo.</summary>
    public static IServiceCollection AddGrainSilo(this IServiceCollection services, Action<GrainSiloBuilder> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        configure(new GrainSiloBuilder(services));
        services.AddHostedService<GrainSiloHostedService>();
        return services;
    }

    private sealed class GrainSiloHostedService(GrainSilo silo) : IHostedLifecycleService
    {
        public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StartedAsync(CancellationToken cancellationToken) => silo.StartAsync(cancellationToken);

        public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => silo.StopAsync(cancellationToken);

        public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
