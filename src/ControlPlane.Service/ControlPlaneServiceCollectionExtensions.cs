using ControlPlane.Fleet;
using ControlPlane.Grains;
using ControlPlane.Grains.Sqlite;
using ControlPlane.Grpc.Server;
using ControlPlane.Service.Admin;
using ControlPlane.Service.Audit;
using ControlPlane.Service.DataPlane;
using ControlPlane.Service.Grains;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace ControlPlane.Service;

/// <summary>Where grain state lives in single-node mode.</summary>
public enum ControlPlaneStorage
{
    /// <summary>A SQLite file (survives restarts). The default.</summary>
    Sqlite,

    /// <summary>Process memory (lost at exit; tests and demos).</summary>
    Memory,
}

/// <summary>Registers the control plane service: grains on a single-node silo, the routing node, the data-plane
/// gRPC service and the admin operations.</summary>
public static class ControlPlaneServiceCollectionExtensions
{
    /// <summary>The SQLite file name inside the data directory.</summary>
    public const string SqliteFileName = "controlplane.db";

    /// <summary>Adds the control plane for <paramref name="fleet"/>. With <see cref="ControlPlaneStorage.Sqlite"/>,
    /// state goes to <c>controlplane.db</c> in <paramref name="dataDirectory"/> (created if missing).</summary>
    public static IServiceCollection AddControlPlane(this IServiceCollection services, FleetDefinition fleet, ControlPlaneStorage storage,
        string? dataDirectory, Action<ControlPlaneOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(fleet);
        services.AddOptions<ControlPlaneOptions>().Configure(o => configure?.Invoke(o)).Validate(o =>
        {
            o.Validate();
            return true;
        }).ValidateOnStart();
        services.AddSingleton(new FleetCatalog(fleet));
        services.AddGrainSilo(silo =>
        {
            silo.AddGrain<IProviderEndpointGrain, ProviderEndpointGrain>()
                .AddGrain<IWorkloadClassGrain, WorkloadClassGrain>()
                .AddGrain<IFleetGrain, FleetGrain>()
                .AddGrain<IAuditTrailGrain, AuditTrailGrain>()
                .AddObserverInterface<IRoutingObserver>();
            if (storage == ControlPlaneStorage.Sqlite)
            {
                ArgumentException.ThrowIfNullOrEmpty(dataDirectory);
                Directory.CreateDirectory(dataDirectory);
                silo.UseSqliteStorage(Path.Combine(dataDirectory, SqliteFileName));
            }
            else
            {
                silo.UseMemoryStorage();
            }
        });
        services.AddSingleton<RoutingNode>();
        services.AddHostedService<RoutingNodeHostedService>();
        services.AddSingleton<RoutingService>();
        services.AddGrpcService(sp => sp.GetRequiredService<RoutingService>().CreateDefinition());
        services.AddSingleton<AdminOperations>();
        services.AddSingleton<AdminGrpcService>();
        services.AddGrpcService(sp => sp.GetRequiredService<AdminGrpcService>().CreateDefinition());
        return services;
    }

    // Registered after the silo's hosted service, so the silo is running when the node subscribes, and stopped after it.
    private sealed class RoutingNodeHostedService(RoutingNode node) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => node.StartAsync(cancellationToken);

        public Task StopAsync(CancellationToken cancellationToken) => node.StopAsync(cancellationToken);
    }
}
