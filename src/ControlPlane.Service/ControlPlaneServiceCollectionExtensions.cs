using ControlPlane.Fleet;
using ControlPlane.Grains;
using ControlPlane.Grains.Placement;
using ControlPlane.Grains.Sqlite;
using ControlPlane.Grpc.Health;
using ControlPlane.Grpc.Server;
using ControlPlane.Service.Admin;
using ControlPlane.Service.Audit;
using ControlPlane.Service.DataPlane;
using ControlPlane.Service.Grains;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using ServingStatus = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace ControlPlane.Service;

/// <summary>Where grain state lives in single-node mode.</summary>
public enum ControlPlaneStorage
{
    /// <summary>A SQLite file (survives restarts). The default.</summary>
    Sqlite,

    /// <summary>Process memory (lost at exit; tests and demos).</summary>
    Memory,

    /// <summary>Supplied by the silo configuration passed to <c>AddControlPlane</c> (cluster mode: Redis).</summary>
    External,
}

/// <summary>Registers the control plane service: grains on a silo (single node, or a cluster member when the silo
/// configuration makes it one), the routing node, the data-plane gRPC service and the admin operations.</summary>
public static class ControlPlaneServiceCollectionExtensions
{
    /// <summary>The SQLite file name inside the data directory.</summary>
    public const string SqliteFileName = "controlplane.db";

    /// <summary>Adds the control plane for <paramref name="fleet"/>. With <see cref="ControlPlaneStorage.Sqlite"/>,
    /// state goes to <c>controlplane.db</c> in <paramref name="dataDirectory"/> (created if missing); with
    /// <see cref="ControlPlaneStorage.External"/>, <paramref name="configureSilo"/> must set the storage (and, for a
    /// cluster, membership, directory and call transport).</summary>
    public static IServiceCollection AddControlPlane(this IServiceCollection services, FleetDefinition fleet, ControlPlaneStorage storage,
        string? dataDirectory, Action<ControlPlaneOptions>? configure = null, Action<GrainSiloBuilder>? configureSilo = null)
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
            else if (storage == ControlPlaneStorage.Memory)
            {
                silo.UseMemoryStorage();
            }
            else if (configureSilo is null)
            {
                throw new ArgumentException("ControlPlaneStorage.External needs a silo configuration that sets the storage.", nameof(configureSilo));
            }

            configureSilo?.Invoke(silo);
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

    // Registered after the silo's hosted service, which starts in StartedAsync: the node subscribes once the silo
    // runs (StartedAsync calls follow registration order) and stops before it (StopAsync runs in reverse order).
    // Until then Route answers UNAVAILABLE rather than from a table that has not heard of any override yet.
    // grpc.health.v1 (when served) reports controlplane.v1.Routing SERVING only while the node is ready.
    // A cluster view change (a node joined, left or was pruned) may have moved grains: re-subscribe at once rather
    // than at the next renewal, so pushes from the new activations reach this node.
    private sealed class RoutingNodeHostedService(RoutingNode node, IServiceProvider services) : IHostedLifecycleService
    {
        private readonly HealthStatusRegistry? _health = services.GetService<HealthStatusRegistry>();
        private readonly IClusterMembership? _membership = services.GetService<IClusterMembership>();

        public Task StartingAsync(CancellationToken cancellationToken)
        {
            _health?.SetStatus(RoutingService.ServiceName, ServingStatus.NotServing);
            return Task.CompletedTask;
        }

        public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public async Task StartedAsync(CancellationToken cancellationToken)
        {
            // Attached first, so a view change during the start is not missed.
            if (_membership is not null)
            {
                _membership.Changed += OnViewChanged;
            }

            await node.StartAsync(cancellationToken);

            _health?.SetStatus(RoutingService.ServiceName, ServingStatus.Serving);
        }

        public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken)
        {
            if (_membership is not null)
            {
                _membership.Changed -= OnViewChanged;
            }

            _health?.SetStatus(RoutingService.ServiceName, ServingStatus.NotServing);
            return node.StopAsync(cancellationToken);
        }

        private void OnViewChanged(object? sender, EventArgs e) => node.RequestResubscribe();

        public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
