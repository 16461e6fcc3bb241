using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using ControlPlane.Fleet;
using ControlPlane.Service.Admin;
using ControlPlane.Service.DataPlane;
using ControlPlane.Service.FleetReload;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Orleans.Hosting;
using Orleans.Serialization;

namespace ControlPlane.Service;

/// <summary>Where grain state lives.</summary>
public enum ControlPlaneStorage
{
    /// <summary>A SQLite file (survives restarts). The default of a single node.</summary>
    Sqlite,

    /// <summary>Process memory (lost at exit; tests and demos).</summary>
    Memory,

    /// <summary>Registered by the caller under <see cref="GrainStorage.Name"/> (cluster mode: Redis).</summary>
    External,
}

/// <summary>The name of the grain storage every control-plane grain persists to.</summary>
public static class GrainStorage
{
    /// <summary>The storage provider name.</summary>
    public const string Name = "cp";
}

/// <summary>Registers the control plane: its grains on an Orleans silo, and on every node that serves the data plane
/// the routing node, the Routing and Admin gRPC services, the admin operations and the readiness health check.</summary>
public static class ControlPlaneServiceCollectionExtensions
{
    /// <summary>The SQLite file name inside the data directory.</summary>
    public const string SqliteFileName = "controlplane.db";

    /// <summary>The health check (tag) behind <c>grpc.health.v1</c>'s <c>controlplane.v1.Routing</c> status.</summary>
    public const string RoutingReadyTag = "routing";

    /// <summary>JSON options of the codec for the Domain and Service types that cross grain calls.</summary>
    internal static readonly JsonSerializerOptions WireJson = new(JsonSerializerDefaults.Web) { TypeInfoResolver = new DefaultJsonTypeInfoResolver() };

    /// <summary>Adds what every node of the control plane has (silo or data-plane client): the fleet catalog, options,
    /// the serializer for the messages grains exchange and the admin operations; with <paramref name="dataPlane"/> (the
    /// default) also the routing node (snapshot, leases, outcome flush), the gRPC services and the readiness check. A
    /// silo-only node leaves the routing node out, so it holds no quota leases it would never spend.</summary>
    public static IServiceCollection AddControlPlaneNode(this IServiceCollection services, FleetDefinition fleet, Action<ControlPlaneOptions>? configure = null,
        bool dataPlane = true)
    {
        ArgumentNullException.ThrowIfNull(fleet);
        services.AddOptions<ControlPlaneOptions>().Configure(o => configure?.Invoke(o)).Validate(o =>
        {
            o.Validate();
            return true;
        }).ValidateOnStart();
        services.AddSingleton(new FleetCatalog(fleet));
        services.TryAddTimeProvider();
        services.AddControlPlaneSerialization();
        services.AddSingleton<AdminOperations>();
        services.AddSingleton<Catalog.CatalogOperations>();
        services.AddHostedService<Catalog.DeprecationWatcher>();
        services.AddSingleton<Governance.PolicyOperations>();
        // Singleton: Grpc.AspNetCore would otherwise construct a service object per call. Served on the admin port of
        // every node (silo-only ones too).
        services.AddSingleton<AdminGrpcService>();
        services.AddFleetReload();
        services.AddSingleton<Alerting.Delivery.AlertDeliveryOperations>();
        if (!dataPlane)
        {
            return services;
        }

        // Before the routing node: the container disposes it after the node, so the log drains the node's last records.
        services.AddSingleton<RequestLog.RequestLogWriter>();
        services.AddSingleton<RoutingNode>();
        services.AddHostedService<RoutingNodeHostedService>();
        // Singletons: Grpc.AspNetCore would otherwise construct a service object per call.
        services.AddSingleton<RoutingService>();
        services.AddGrpcHealthChecks(o =>
        {
            o.Services.Map(RoutingService.ServiceName, r => r.Tags.Contains(RoutingReadyTag));
            o.Services.Map("", r => r.Tags.Contains(RoutingReadyTag));
        }).AddCheck<RoutingReadyCheck>("routing-ready", tags: [RoutingReadyTag]);
        return services;
    }

    /// <summary>The serializer for messages and state made of Domain and Service types: Orleans' generated codecs where
    /// a type has one (grain state, exceptions), System.Text.Json for the rest of <c>ControlPlane.*</c> (the Domain stays
    /// free of Orleans attributes).</summary>
    public static IServiceCollection AddControlPlaneSerialization(this IServiceCollection services) =>
        services.AddSerializer(s => s.AddJsonSerializer(
            isSupported: t => t.Namespace is { } ns && ns.StartsWith("ControlPlane.", StringComparison.Ordinal),
            WireJson));

    /// <summary>Adds the control plane's grains and their storage to a silo. With <see cref="ControlPlaneStorage.External"/>
    /// the caller registers a grain storage named <see cref="GrainStorage.Name"/> (cluster mode: Redis).</summary>
    public static ISiloBuilder AddControlPlaneGrains(this ISiloBuilder silo, ControlPlaneStorage storage, string? dataDirectory,
        Action<ISiloBuilder>? sqlite = null)
    {
        ArgumentNullException.ThrowIfNull(silo);
        silo.UseSystemTextJsonGrainStorageSerializer();
        silo.Services.AddPlacementDirector<Placement.SpreadPlacement, Placement.SpreadPlacementDirector>();
        silo.Services.AddSingleton<Placement.GrainHome>();
        // Delivery first: its IAlertNotifier (team outboxes) is the one registered; alerting's logging notifier is the default
        // only where delivery is absent, and every accepted change is logged either way.
        Alerting.Delivery.AlertDeliveryServiceCollectionExtensions.AddAlertDelivery(silo.Services);
        Alerting.AlertingServices.AddAlerting(silo.Services);
        switch (storage)
        {
            case ControlPlaneStorage.Sqlite:
                ArgumentException.ThrowIfNullOrEmpty(dataDirectory);
                ArgumentNullException.ThrowIfNull(sqlite);
                Directory.CreateDirectory(dataDirectory);
                sqlite(silo);
                break;
            case ControlPlaneStorage.Memory:
                silo.AddMemoryGrainStorage(GrainStorage.Name);
                break;
        }

        return silo;
    }

    private static void TryAddTimeProvider(this IServiceCollection services)
    {
        if (!services.Any(d => d.ServiceType == typeof(TimeProvider)))
        {
            services.AddSingleton(TimeProvider.System);
        }
    }

    /// <summary>Reports the routing node's readiness to grpc.health.v1 (NOT_SERVING until its table is synchronized).</summary>
    private sealed class RoutingReadyCheck(RoutingNode node) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
            Task.FromResult(node.IsReady ? HealthCheckResult.Healthy("routing table synchronized")
                : HealthCheckResult.Unhealthy("routing table not synchronized (starting or stopping)"));
    }

    // Starts in StartedAsync, after the silo (or the cluster client) has started: the node subscribes to every grain
    // and takes its leases, then reports ready. Until then Route answers UNAVAILABLE rather than from a table that has
    // not heard of any override yet. A membership change (a silo joined, left or died) may have moved grains: the node
    // re-subscribes at once rather than at the next renewal, so pushes from the new activations reach it.
    private sealed class RoutingNodeHostedService(RoutingNode node, IServiceProvider services) : IHostedLifecycleService
    {
        private readonly CancellationTokenSource _stop = new();
        private Task? _watch;

        public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public async Task StartedAsync(CancellationToken cancellationToken)
        {
            if (services.GetService<IClusterMembershipService>() is { } membership)
            {
                _watch = Task.Run(() => WatchMembershipAsync(membership, _stop.Token), CancellationToken.None);
            }

            await node.StartAsync(cancellationToken);
        }

        public Task StoppingAsync(CancellationToken cancellationToken) => node.StopAsync(cancellationToken);

        public async Task StopAsync(CancellationToken cancellationToken)
        {
            await _stop.CancelAsync();
            if (_watch is not null)
            {
                await _watch.WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }

        public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        private async Task WatchMembershipAsync(IClusterMembershipService membership, CancellationToken cancellationToken)
        {
            HashSet<SiloAddress>? active = null;
            try
            {
                await foreach (var snapshot in membership.MembershipUpdates.WithCancellation(cancellationToken))
                {
                    var now = snapshot.Members.Where(m => m.Value.Status == SiloStatus.Active).Select(m => m.Key).ToHashSet();
                    if (active is not null && !now.SetEquals(active))
                    {
                        node.RequestResubscribe();
                    }

                    active = now;
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
            }
        }
    }
}
