using System.Net;
using System.Net.Sockets;
using ControlPlane.Fleet;
using ControlPlane.Server.Cluster;
using ControlPlane.Server.Diagnostics;
using ControlPlane.Server.Security;
using ControlPlane.Service;
using ControlPlane.Service.Admin;
using ControlPlane.Service.Dashboard;
using ControlPlane.Service.Federation;
using ControlPlane.Service.Federation.Quotas;
using ControlPlane.Service.DataPlane;
using ControlPlane.Service.Security;
using Grpc.AspNetCore.Server;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Orleans.Configuration;
using Orleans.Runtime;
using Orleans.Dashboard;

namespace ControlPlane.Server;

/// <summary>Builds a node: one ASP.NET Core host with an Orleans silo (or, for <c>--role data-plane</c>, an Orleans
/// client), the data-plane gRPC API on Grpc.AspNetCore (h2c) with health and reflection, and the admin API on its own
/// HTTP/1.1 endpoint. Without <c>--redis</c> the silo is alone (localhost clustering, SQLite or memory state); with
/// it, Orleans' Redis clustering and Redis grain storage make it a cluster member. Program and the tests build and
/// stop nodes the same way.</summary>
internal static class NodeHost
{
    private static readonly TimeSpan HostShutdownTimeout = TimeSpan.FromSeconds(30);

    /// <summary>How long a grain call may take before the caller gets a timeout. Orleans' default is 30 s; a call
    /// stuck behind a hung silo must fail well before that silo is declared dead (6-11 s with the fast profile).</summary>
    internal static readonly TimeSpan GrainCallTimeout = TimeSpan.FromSeconds(5);

    /// <summary>The Orleans service id every node of every cluster uses.</summary>
    internal const string ServiceId = "controlplane";

    /// <summary>Marks connections accepted on the admin endpoint, so admin routes answer only there.</summary>
    private const string AdminConnectionKey = "controlplane.admin";

    public static WebApplication Build(NodeOptions options, FleetDefinition fleet, Action<WebApplicationBuilder>? configure = null,
        Action<ControlPlaneOptions>? configureControlPlane = null)
    {
        ArgumentNullException.ThrowIfNull(fleet);
        // The content root is the application's folder, and configuration files are not watched: the node's default
        // data folder sits under the working directory, and a watcher there burned CPU on every write.
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = ["--hostBuilder:reloadConfigOnChange=false"],
            ContentRootPath = AppContext.BaseDirectory,
        });
        var servesDataPlane = options.Role != NodeRole.Silo;
        var nodeName = options.NodeName ?? DefaultNodeName(options.GrpcEndpoint.Port == 0 ? Environment.ProcessId : options.GrpcEndpoint.Port);
        // Stopping is ordered by StopAsync (routing node, then the host: silo leaves, Kestrel stops), not by signals
        // reaching the host: Program turns SIGTERM/SIGINT into a StopAsync call.
        builder.Services.AddSingleton<IHostLifetime, NodeLifetime>();
        // The listeners' certificates (none: plaintext); the container owns them (disposed with the host).
        var tls = ListenerTls.Load(options);
        builder.Services.AddSingleton(_ => tls);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            if (servesDataPlane)
            {
                // HTTP/2 only (prior knowledge, or ALPN h2 over TLS): the data plane is gRPC.
                kestrel.Listen(options.GrpcEndpoint, tls.ConfigureDataPlane);
            }

            // The admin API (HTTP/1.1 JSON) and the gRPC Admin service (HTTP/2) share their own port: over TLS ALPN picks
            // the protocol; without TLS Kestrel would speak only HTTP/1.1 there, so H2cPriorKnowledge spots the HTTP/2 preface.
            kestrel.Listen(options.AdminEndpoint, listen =>
            {
                tls.ConfigureAdmin(listen);
                listen.Use(next => connection =>
                {
                    connection.Items[AdminConnectionKey] = true;
                    return H2cPriorKnowledge.DetectAsync(connection, next);
                });
            });
            kestrel.AddServerHeader = false;
            // h2c connections on the admin port look like TLS to Kestrel (H2cPriorKnowledge): their requests keep the
            // :scheme the client sent (http) instead of being refused for not matching "https".
            kestrel.AllowAlternateSchemes = true;
        });
        // Per-request ASP.NET Core logs at Information would dominate the gRPC hot path; Orleans logs its own start.
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Logging.AddFilter("Orleans", LogLevel.Warning);
        builder.Logging.AddFilter("Polly", LogLevel.Warning);
        // Request log records go to OTLP (--request-log-otlp), never to the console.
        builder.Logging.AddFilter<Microsoft.Extensions.Logging.Console.ConsoleLoggerProvider>(ControlPlane.Service.RequestLog.RequestLogWriter.Category, LogLevel.None);
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = HostShutdownTimeout);
        builder.Services.AddGrpc(grpc =>
        {
            grpc.EnableDetailedErrors = false;
            grpc.MaxReceiveMessageSize = 4 * 1024 * 1024;
        });
        builder.Services.AddGrpcReflection();
        builder.Services.AddControlPlaneNode(fleet, o =>
        {
            // Leases and decision ids carry the node name; it is unique among live nodes.
            o.NodeId = nodeName;
            o.DecisionKey = options.DecisionKey ?? o.DecisionKey;
            o.AcceptUnroutedOutcomes |= options.AcceptUnroutedOutcomes;
            options.ApplyRequestLog(o.RequestLog);
            configureControlPlane?.Invoke(o);
        }, dataPlane: servesDataPlane);
        // Federation between regional clusters (docs/regions.md); off without --region.
        builder.Services.AddControlPlaneFederation(options.ResolveFederation(fleet));
        builder.Services.AddFederationQuotas();
        // SIGHUP reloads the fleet file (docs/governance.md, "Fleet reload").
        builder.Services.AddHostedService<SighupReload>();
        builder.Services.AddSingleton(new NodeIdentity(nodeName, options.Role, options.IsClusterNode ? options.RedisEndpoint : null, options.ClusterPrefix));
        if (options.EnableDiagnostics)
        {
            builder.Services.AddSingleton<DiagnosticsService>();
        }

        if (options.Role == NodeRole.DataPlane)
        {
            builder.UseOrleansClient(client =>
            {
                ConfigureClient(client, options);
                if (options.Telemetry)
                {
                    // Grain calls carry Activity.Current (Orleans' activity sources; docs/telemetry.md).
                    client.AddActivityPropagation();
                }
                if (options.Dashboard)
                {
                    client.AddDashboard();
                }
            });
        }
        else
        {
            builder.UseOrleans(silo =>
            {
                ConfigureSilo(silo, options, nodeName);
                if (options.Kubernetes)
                {
                    // Pod labels, pod watch (a deleted pod's silo is declared dead at once), pod deletion of dead silos.
                    silo.UseKubernetesHosting(k => k.Configure(o => o.DeleteDefunctSiloPods = true));
                }

                if (options.Telemetry)
                {
                    silo.AddActivityPropagation();
                }

                if (options.Dashboard)
                {
                    // On by default (--dashboard off): it adds a profiling filter to every grain call.
                    silo.AddDashboard();
                }
            });
        }

        // The data plane's authorization fast path (DataPlaneAuthorization) admits calls without running the
        // authorization middleware, which the endpoint middleware would otherwise take for a missing UseAuthorization.
        // Every endpoint is still covered: Security/RoleMatrixTests call every route and rpc without credentials.
        builder.Services.Configure<Microsoft.AspNetCore.Routing.RouteOptions>(o => o.SuppressCheckForUnhandledSecurityMetadata = true);
        builder.Services.AddOpenApi();
        builder.Services.AddProblemDetails();
        builder.Services.AddControlPlaneAuthentication(o => ConfigureSecurity(o, options));
        builder.Services.AddAdminRateLimiting();
        Telemetry.NodeTelemetry.AddNodeTelemetry(builder, options, nodeName);
        builder.Services.AddControlPlaneDashboard();
        configure?.Invoke(builder);
        var app = builder.Build();
        _ = app.Services.GetRequiredService<ListenerTls>();
        ListenerSecurityLog.WarnIfPlaintext(app.Services.GetRequiredService<ILoggerFactory>(), options);

        // Admin routes and the gRPC Admin service answer only on the admin port; the data-plane port answers the other
        // gRPC services only (the Admin service there is UNIMPLEMENTED).
        app.Use((context, next) =>
        {
            var onAdminPort = IsOnAdminPort(context);
            var isGrpc = context.Request.ContentType?.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase) == true;
            if (isGrpc && onAdminPort != context.Request.Path.StartsWithSegments(AdminGrpcPath, StringComparison.Ordinal))
            {
                context.Response.ContentType = "application/grpc";
                context.Response.Headers["grpc-status"] = "12";
                context.Response.Headers["grpc-message"] = onAdminPort ? "served on the data-plane port" : "served on the admin port";
                return Task.CompletedTask;
            }

            if (!onAdminPort && !isGrpc)
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                return Task.CompletedTask;
            }

            return next(context);
        });
        // Bodyless admin errors from routing (404, 405, 415) become problem+json too; gRPC calls skip that middleware.
        app.UseWhen(context => IsOnAdminPort(context) && context.Request.ContentType?.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase) != true,
            admin => admin.UseStatusCodePages());
        app.UseRouting();
        // The same gate again on what routing chose (request headers are the caller's to set; the endpoint is not): on
        // the data-plane port only the data-plane gRPC services run, on the admin port only the admin API, the gRPC Admin
        // service and the other admin pages. A refused gRPC call is UNIMPLEMENTED, anything else 404.
        app.Use((context, next) =>
        {
            if (context.GetEndpoint() is not { } endpoint)
            {
                return next(context);
            }

            // gRPC's catch-alls for unknown services and methods carry no method metadata, only their display name.
            var grpc = endpoint.Metadata.GetMetadata<GrpcMethodMetadata>();
            var isGrpcEndpoint = grpc is not null || endpoint.DisplayName?.StartsWith("gRPC - ", StringComparison.Ordinal) == true;
            var admin = !isGrpcEndpoint || grpc?.ServiceType == typeof(AdminGrpcService);
            if (IsOnAdminPort(context) == admin)
            {
                return next(context);
            }

            if (isGrpcEndpoint || context.Request.ContentType?.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase) == true)
            {
                context.Response.ContentType = "application/grpc";
                context.Response.Headers["grpc-status"] = "12";
                context.Response.Headers["grpc-message"] = "not served on this port";
            }
            else
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
            }

            return Task.CompletedTask;
        });
        // Every endpoint needs a credential (the fallback policy) unless it allows anonymous callers (gRPC health, for
        // probes); RequireRoles names each action's roles (docs/security.md).
        // A data-plane call with a key this node already verified, to an endpoint that needs only roles the key holds,
        // skips the standard pipeline (DataPlaneAuthorization); everything else goes through it.
        var fastPath = new DataPlaneAuthorization(app.Services.GetRequiredService<ApiKeyCache>());
        // WebApplication adds UseAuthentication/UseAuthorization at the very start of the pipeline (before routing, so
        // with the fallback policy for every request) unless the app's own builder says it has them; a branch's builder
        // does not tell it. These are the flags UseAuthentication/UseAuthorization set (AuthAppBuilderExtensions,
        // AuthorizationAppBuilderExtensions). RoleMatrixTests' anonymous gRPC health probe fails if they stop working.
        ((IApplicationBuilder)app).Properties["__AuthenticationMiddlewareSet"] = true;
        ((IApplicationBuilder)app).Properties["__AuthorizationMiddlewareSet"] = true;
        app.UseWhen(context => !fastPath.TryAuthorize(context, IsOnAdminPort(context)), standard =>
        {
            standard.UseAuthentication();
            // Admin requests are rate limited per principal (per address without credentials), and failed
            // authentications per address; after authentication (it names the principal), around authorization (it
            // answers 401). The data plane is not limited.
            standard.UseWhen(IsOnAdminPort, admin => admin.UseAdminRateLimiting());
            standard.UseAuthorization();
        });
        if (options.Telemetry)
        {
            app.UseWhen(IsOnAdminPort, admin => admin.Use(Telemetry.AdminSpans.InvokeAsync));
        }

        app.MapGrpcService<AdminGrpcService>();
        if (servesDataPlane)
        {
            // The data plane is measured by the control plane's own instruments (controlplane.route.decisions,
            // controlplane.outcomes, gen_ai.*), not by ASP.NET Core's per-request http.server.request.duration: that
            // histogram (six tags, aggregated per call) costs about 3 µs of CPU per Route, a fifth of the whole call
            // (docs/benchmarks.md). The admin listener's requests keep it.
            app.MapGrpcService<RoutingService>().DisableHttpMetrics();
            if (options.Region is not null)
            {
                // Peer regions' federation link (docs/regions.md); not served with federation off.
                app.MapGrpcService<FederationService>();
                app.MapGrpcService<ControlPlane.Service.Federation.Quotas.FederationQuotaService>();
            }

            app.MapGrpcHealthChecksService().AllowAnonymous();
            app.MapGrpcReflectionService();
            if (options.EnableDiagnostics)
            {
                app.MapGrpcService<DiagnosticsService>();
            }
        }

        app.MapAdminApi().MapKeysApi();
        app.MapDashboard();
        app.MapOpenApi();
        Telemetry.NodeTelemetry.MapNodeMetrics(app, options);
        if (options.Dashboard)
        {
            app.MapOrleansDashboard("/dashboard").RequireRoles(Roles.Viewer);
        }

        return app;
    }

    /// <summary>The gRPC Admin service's path prefix.</summary>
    private static readonly PathString AdminGrpcPath = "/" + AdminGrpcService.ServiceName;

    /// <summary>The bootstrap admin key's file in the data folder.</summary>
    internal const string AdminKeyFileName = "admin.key";

    private static void ConfigureSecurity(SecurityOptions security, NodeOptions options)
    {
        security.JwtIssuer = options.JwtIssuer;
        security.JwtAudience = options.JwtAudience;
        security.JwtKeyFile = options.JwtKeyFile;
        security.BootstrapKey = options.AdminKey;
        // A node holding grains generates the bootstrap key into its data folder; a data-plane client only reads keys.
        security.BootstrapKeyPath = options.Role == NodeRole.DataPlane ? null : Path.Combine(options.DataDirectory, AdminKeyFileName);
        options.ConfigureSecurity?.Invoke(security);
    }

    private static bool IsOnAdminPort(HttpContext context) =>
        context.Features.Get<IConnectionItemsFeature>()?.Items.ContainsKey(AdminConnectionKey) == true;

    private static void ConfigureSilo(ISiloBuilder silo, NodeOptions options, string nodeName)
    {
        silo.Configure<SiloOptions>(o => o.SiloName = nodeName);
        silo.Configure<SiloMessagingOptions>(o => o.ResponseTimeout = GrainCallTimeout);
        if (!options.IsClusterNode)
        {
            // One silo, alone: localhost clustering on a silo port (free unless given), no gateway.
            var siloPort = options.SiloPort is 0 or NodeOptions.DefaultSiloPort ? FreePort(IPAddress.Loopback) : options.SiloPort;
            silo.UseLocalhostClustering(siloPort, gatewayPort: 0, serviceId: ServiceId, clusterId: options.ClusterPrefix);
            silo.AddControlPlaneGrains(options.Storage, options.DataDirectory, s =>
                s.AddSqliteGrainStorage(GrainStorage.Name, Path.Combine(options.DataDirectory, ControlPlaneServiceCollectionExtensions.SqliteFileName)));
            return;
        }

        var advertise = IPAddress.Parse(options.AdvertiseAddress ?? options.GrpcEndpoint.Address.ToString());
        var listenAny = options.GrpcEndpoint.Address.Equals(IPAddress.Any) || options.GrpcEndpoint.Address.Equals(IPAddress.IPv6Any);
        silo.Configure<ClusterOptions>(o =>
        {
            o.ServiceId = ServiceId;
            o.ClusterId = options.ClusterPrefix;
        });
        silo.ConfigureEndpoints(advertise, options.SiloPort == 0 ? FreePort(advertise) : options.SiloPort,
            options.GatewayPort == 0 ? FreePort(advertise) : options.GatewayPort, listenOnAnyHostAddress: listenAny);
        var redis = RedisConfiguration(options);
        silo.UseRedisClustering(o => o.ConfigurationOptions = redis);
        // Grain state is scoped by the cluster id, like the node's other Redis keys (membership, incarnation): Orleans'
        // default key, {ServiceId}/state/{grainId}/{grainType}, holds only the service id, which every cluster shares,
        // so two clusters on one Redis would read and write each other's overrides, policies, quotas and audit.
        silo.AddRedisGrainStorage(GrainStorage.Name, o =>
        {
            o.ConfigurationOptions = GrainStorageRedis(redis);
            o.GetStorageKey = (grainType, grainId) => $"{ServiceId}/{options.ClusterPrefix}/state/{grainId}/{grainType}";
        });
        // The incarnation watchdog: a Redis restarted empty (or flushed) must not leave this silo in a cluster whose
        // membership table and grain state are gone while new silos form a second one (docs/cluster-incarnation.md).
        silo.Services.AddSingleton<StackExchange.Redis.IConnectionMultiplexer>(_ => StackExchange.Redis.ConnectionMultiplexer.Connect(redis.Clone()));
        silo.Services.AddIncarnationWatchdog(o =>
        {
            o.IncarnationKey = IncarnationWatchdogOptions.DefaultIncarnationKey(ServiceId, options.ClusterPrefix);
            o.MembershipKey = IncarnationWatchdogOptions.DefaultMembershipKey(ServiceId, options.ClusterPrefix);
        });
        silo.Services.AddHostedService<IncarnationJoin>();
        // Declared dead by the cluster: rejoin as a new silo rather than end the process (Orleans' default).
        silo.Services.Replace(ServiceDescriptor.Singleton<IFatalErrorHandler>(services => new DeclaredDeadHandler(
            services.GetRequiredService<IncarnationWatchdog>, services.GetRequiredService<ILogger<DeclaredDeadHandler>>())));
        silo.AddControlPlaneGrains(ControlPlaneStorage.External, null);
        if (!options.OrleansDefaultMembership)
        {
            silo.Configure<ClusterMembershipOptions>(ClusterTuning.Fast);
        }
    }

    private static void ConfigureClient(IClientBuilder client, NodeOptions options)
    {
        client.Configure<ClusterOptions>(o =>
        {
            o.ServiceId = ServiceId;
            o.ClusterId = options.ClusterPrefix;
        });
        client.Configure<ClientMessagingOptions>(o => o.ResponseTimeout = GrainCallTimeout);
        client.UseRedisClustering(o => o.ConfigurationOptions = RedisConfiguration(options));
        // A gateway (silo) came or went: grains may have moved; re-subscribe at once.
        client.AddGatewayCountChangedHandler(sp => (_, _) => sp.GetRequiredService<RoutingNode>().RequestResubscribe());
    }

    /// <summary>Grain writes fail fast while Redis is unreachable (no backlog, 2 s timeout) instead of holding the grain's
    /// turn for the default 5 s: quota grains keep granting from memory through an outage (docs/quota-ledger-persistence.md).</summary>
    internal static StackExchange.Redis.ConfigurationOptions GrainStorageRedis(StackExchange.Redis.ConfigurationOptions redis)
    {
        var storage = redis.Clone();
        storage.BacklogPolicy = StackExchange.Redis.BacklogPolicy.FailFast;
        storage.AsyncTimeout = 2_000;
        storage.SyncTimeout = 2_000;
        return storage;
    }

    private static StackExchange.Redis.ConfigurationOptions RedisConfiguration(NodeOptions options)
    {
        var redis = StackExchange.Redis.ConfigurationOptions.Parse(options.RedisEndpoint!);
        redis.ClientName = "controlplane";
        redis.Password = options.RedisPassword ?? redis.Password;
        return redis;
    }

    /// <summary>Stops a node in the order that loses nothing: the routing node flushes queued outcomes and returns its
    /// leases while every grain is still reachable; then the host stops (the silo leaves the cluster, deactivating its
    /// grains, whose state is persisted; Kestrel stops).</summary>
    public static async Task StopAsync(WebApplication app, CancellationToken cancellationToken = default)
    {
        try
        {
            if (app.Services.GetService<RoutingNode>() is { } node)
            {
                await node.StopAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            await app.StopAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Completes when the cluster incarnation this silo joined is gone (Redis lost its data); never for a
    /// single node or a data-plane client. The node must then stop and join the new incarnation as a new silo.</summary>
    public static Task<IncarnationLoss> IncarnationLost(WebApplication app) =>
        app.Services.GetService<IncarnationWatchdog>()?.IncarnationLost ?? new TaskCompletionSource<IncarnationLoss>().Task;

    /// <summary>Before a silo of a lost incarnation stops: puts an (empty) membership table back in Redis if none is
    /// there yet, exactly as a joining silo would create it, so the old silo's last status writes (Stopping, Dead) land
    /// at once instead of retrying against a table that no longer exists; the old silo then stops in about a second
    /// rather than a minute, and the node is back serving sooner. The table's version starts at zero, below what the
    /// old silo has seen, so its view of the cluster is not disturbed while it stops.</summary>
    public static async Task PrepareRejoinAsync(WebApplication app)
    {
        if (app.Services.GetService<IMembershipTable>() is not { } table)
        {
            return;
        }

        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await table.InitializeMembershipTableAsync(tryInitTableVersion: true, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception error) when (error is not OutOfMemoryException)
        {
            // Redis unreachable again, or a new silo created the table first: the stop then takes its longer path.
            app.Services.GetRequiredService<ILogger<NodeIdentity>>().LogWarning(error, "Could not re-create the membership table before rejoining.");
        }
    }

    /// <summary>The node's identity.</summary>
    public static NodeIdentity Identity(WebApplication app) => app.Services.GetRequiredService<NodeIdentity>();

    /// <summary>The data-plane gRPC address Kestrel bound (resolves port 0), e.g. <c>http://127.0.0.1:50051</c>.</summary>
    public static string GrpcAddress(WebApplication app) =>
        Identity(app).Role == NodeRole.Silo ? throw new InvalidOperationException("A silo-only node serves no data plane.")
        : Addresses(app).FirstOrDefault() ?? throw new InvalidOperationException("The node is not listening.");

    /// <summary>The admin API's bound address, e.g. <c>http://127.0.0.1:8080</c> (endpoints bind in the order configured).</summary>
    public static string AdminAddress(WebApplication app) =>
        Addresses(app).Skip(Identity(app).Role == NodeRole.Silo ? 0 : 1).FirstOrDefault() ?? throw new InvalidOperationException("The admin API is not listening.");

    private static IEnumerable<string> Addresses(WebApplication app) =>
        app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];

    // Host names may hold characters a node name must not ('.', spaces); the port keeps several nodes on one host apart.
    private static string DefaultNodeName(int port)
    {
        var host = new string([.. Environment.MachineName.ToLowerInvariant().Select(c => char.IsAsciiLetterOrDigit(c) || c == '-' ? c : '-')]);
        host = host.Length is 0 ? "node" : host[..Math.Min(host.Length, 48)];
        return $"{host}-{port}";
    }

    private static int FreePort(IPAddress address)
    {
        using var listener = new TcpListener(address.Equals(IPAddress.Any) ? IPAddress.Loopback : address, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Joins (or founds) the cluster incarnation once the silo is active, then lets the watchdog watch it.</summary>
    private sealed class IncarnationJoin(IncarnationWatchdog watchdog) : IHostedLifecycleService
    {
        public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StartedAsync(CancellationToken cancellationToken) => watchdog.JoinAsync(cancellationToken);

        public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => watchdog.StopAsync(cancellationToken);

        public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    /// <summary>A host lifetime that leaves signals to Program, which stops the node through <see cref="StopAsync"/>.</summary>
    private sealed class NodeLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}

/// <summary>What a node runs as.</summary>
/// <param name="NodeName">The node (silo) name; lease holder and decision-id prefix.</param>
/// <param name="Role">Silo, data plane, or both.</param>
/// <param name="Redis">The cluster's Redis; null for a single node.</param>
/// <param name="ClusterId">The Orleans cluster id.</param>
internal sealed record NodeIdentity(string NodeName, NodeRole Role, string? Redis, string ClusterId);

/// <summary>Membership tuning of a cluster node (measured in docs/cluster.md).</summary>
internal static class ClusterTuning
{
    /// <summary>Probe every second, give up on a probe after at most 2 s, suspect after 3 missed probes, declare dead on
    /// 2 votes: a crashed silo (connection refused) is declared dead in about 1.5 s and a hung one in 6-11 s, while one
    /// starved prober alone cannot evict a healthy silo.</summary>
    public static void Fast(ClusterMembershipOptions o)
    {
        o.ProbeTimeout = TimeSpan.FromSeconds(1);
        o.MaxProbeTimeout = TimeSpan.FromSeconds(2);
        o.NumMissedProbesLimit = 3;
        o.NumVotesForDeathDeclaration = 2;
        o.TableRefreshTimeout = TimeSpan.FromSeconds(10);
        o.IAmAliveTablePublishTimeout = TimeSpan.FromSeconds(10);
        o.DefunctSiloCleanupPeriod = TimeSpan.FromMinutes(10);
        o.DefunctSiloExpiration = TimeSpan.FromHours(1);
        // Bounds how long a silo retries its own status writes (joining, and Stopping/Dead when it leaves): after Redis
        // lost its data the table those writes go to is gone, and Orleans' 5-minute default kept a rejoining node's
        // old silo stopping for about 2 minutes. Also the time a joining silo waits to reach a silo still listed
        // active before it evicts it.
        o.MaxJoinAttemptTime = TimeSpan.FromSeconds(15);
    }
}
