using System.Net;
using System.Net.Sockets;
using ControlPlane.Fleet;
using ControlPlane.Grains;
using ControlPlane.Grains.Grpc;
using ControlPlane.Grains.Placement;
using ControlPlane.Grains.Redis;
using ControlPlane.Grpc.Health;
using ControlPlane.Grpc.Reflection;
using ControlPlane.Grpc.Server;
using ControlPlane.Server.Diagnostics;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using ControlPlane.Service;
using ControlPlane.Service.Admin;
using ControlPlane.Service.DataPlane;

namespace ControlPlane.Server;

/// <summary>Builds a node: Kestrel with the gRPC server, health, reflection and (unless disabled)
/// diagnostics; with a fleet, also the control plane (grains, Routing service) and the admin API on its own
/// HTTP/1.1 endpoint. With <c>--redis</c> the silo is a cluster member (Redis membership, placement and state; grain
/// calls between nodes over the gRPC port). Program and the tests build and stop nodes the same way.</summary>
internal static class NodeHost
{
    private static readonly TimeSpan HostShutdownTimeout = TimeSpan.FromSeconds(15);

    /// <summary>How long a stopping cluster node keeps answering grain calls (with a typed "not serving" rejection
    /// that callers retry on the new owner) after its silo handed off, before its gRPC port closes.</summary>
    internal static readonly TimeSpan ClusterDrain = TimeSpan.FromSeconds(1);

    /// <summary>Marks connections accepted on the admin endpoint, so admin routes answer only there.</summary>
    private const string AdminConnectionKey = "controlplane.admin";

    public static WebApplication Build(NodeOptions options, Action<WebApplicationBuilder>? configure = null) =>
        Build(options, fleet: null, configure);

    public static WebApplication Build(NodeOptions options, FleetDefinition? fleet, Action<WebApplicationBuilder>? configure = null,
        Action<ControlPlaneOptions>? configureControlPlane = null)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        // A cluster member publishes its address before Kestrel binds, so port 0 is resolved to a free port here.
        var grpcEndpoint = options.IsClusterNode && options.GrpcEndpoint.Port == 0
            ? new IPEndPoint(options.GrpcEndpoint.Address, FreePort(options.GrpcEndpoint.Address))
            : options.GrpcEndpoint;
        // Stopping is ordered by StopAsync (routing node, silo hand-off, drain, then the server), not by signals
        // reaching the host: Program turns SIGTERM/SIGINT into a StopAsync call.
        builder.Services.AddSingleton<IHostLifetime, NodeLifetime>();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            // HTTP/2 only (prior knowledge); HTTP/1.x callers get a clear 426 from the preface check.
            kestrel.Listen(grpcEndpoint, listen =>
            {
                listen.Protocols = HttpProtocols.Http2;
                listen.RefuseHttp1Requests();
            });
            if (fleet is not null)
            {
                // The admin API is plain HTTP/1.1 JSON on its own port; the gRPC port stays h2c-only.
                kestrel.Listen(options.AdminEndpoint, listen =>
                {
                    listen.Protocols = HttpProtocols.Http1;
                    listen.Use(next => connection =>
                    {
                        connection.Items[AdminConnectionKey] = true;
                        return next(connection);
                    });
                });
            }

            kestrel.AddServerHeader = false;
        });
        // Per-request ASP.NET Core logs at Information would dominate the gRPC hot path.
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Services.AddGrpcServer();
        // The host waits longer than the gRPC shutdown timeout, so cancelled calls can still send their status.
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = HostShutdownTimeout);
        builder.Services.AddGrpcHealth();
        builder.Services.AddGrpcReflection();
        if (options.EnableDiagnostics)
        {
            builder.Services.AddSingleton<DiagnosticsService>();
            builder.Services.AddGrpcService(sp => sp.GetRequiredService<DiagnosticsService>().CreateDefinition());
        }

        if (fleet is not null)
        {
            if (options.IsClusterNode)
            {
                var nodeName = options.NodeName ?? DefaultNodeName(grpcEndpoint.Port);
                var advertise = options.AdvertiseAddress ?? FormatHostPort(grpcEndpoint);
                builder.Services.AddSingleton(sp => new ClusterNodeInfo(nodeName, advertise, options.RedisEndpoint!, options.ClusterPrefix,
                    sp.GetRequiredService<IClusterMembership>()));
                builder.Services.AddControlPlane(fleet, ControlPlaneStorage.External, dataDirectory: null, o =>
                {
                    // Leases and decision ids carry the node name; it is unique among live nodes.
                    o.NodeId = nodeName;
                    configureControlPlane?.Invoke(o);
                }, silo => silo
                    .Configure(o => o.SiloId = nodeName)
                    .UseRedisClustering(o =>
                    {
                        o.Redis.Endpoint = options.RedisEndpoint!;
                        o.Redis.ClientName = "controlplane-" + nodeName;
                        o.KeyPrefix = options.ClusterPrefix;
                        o.SiloAddress = advertise;
                        o.NodeName = nodeName;
                    })
                    .UseGrpcTransport(sp => new MembershipSiloAddresses(sp.GetRequiredService<IClusterMembership>())));
            }
            else
            {
                builder.Services.AddControlPlane(fleet, options.Storage, options.DataDirectory, configureControlPlane);
            }

            builder.Services.AddOpenApi();
            builder.Services.AddProblemDetails();
        }

        configure?.Invoke(builder);
        var app = builder.Build();
        app.UseGrpcServices();
        if (fleet is not null)
        {
            // gRPC calls never get here; admin routes are refused on the gRPC port.
            app.Use((context, next) =>
            {
                var onAdminPort = context.Features.Get<IConnectionItemsFeature>()?.Items.ContainsKey(AdminConnectionKey) == true;
                if (!onAdminPort)
                {
                    context.Response.StatusCode = StatusCodes.Status404NotFound;
                    return Task.CompletedTask;
                }

                return next(context);
            });
            // Bodyless errors from routing (404, 405, 415) become problem+json too.
            app.UseStatusCodePages();
            app.UseRouting();
            app.MapAdminApi();
            app.MapOpenApi();
        }

        return app;
    }

    /// <summary>Stops a node in the order that loses nothing: the routing node flushes queued outcomes and returns its
    /// leases while every grain is still reachable; a cluster member's silo then hands its grains off and the gRPC
    /// port keeps answering for <see cref="ClusterDrain"/>; the server stops last.</summary>
    public static async Task StopAsync(WebApplication app, CancellationToken cancellationToken = default)
    {
        // Each stage runs even if an earlier one failed: a failed flush must not keep the silo from handing off, nor
        // the server from stopping.
        try
        {
            if (app.Services.GetService<RoutingNode>() is { } node)
            {
                app.Services.GetService<HealthStatusRegistry>()?.SetStatus(RoutingService.ServiceName, global::Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus.NotServing);
                await node.StopAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            try
            {
                if (app.Services.GetService<ClusterNodeInfo>() is not null)
                {
                    await app.Services.GetRequiredService<GrainSilo>().StopAsync(cancellationToken).ConfigureAwait(false);
                    await Task.Delay(ClusterDrain, cancellationToken).ConfigureAwait(false);
                }
            }
            finally
            {
                await app.StopAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>What a cluster member joined as, or null for a single node.</summary>
    public static ClusterNodeInfo? Cluster(WebApplication app) => app.Services.GetService<ClusterNodeInfo>();

    /// <summary>The address Kestrel actually bound (resolves port 0), e.g. <c>http://127.0.0.1:50051</c>.</summary>
    public static string GrpcAddress(WebApplication app) => Addresses(app).FirstOrDefault() ?? throw new InvalidOperationException("The node is not listening.");

    /// <summary>The admin API's bound address, e.g. <c>http://127.0.0.1:8080</c> (endpoints bind in the order configured).</summary>
    public static string AdminAddress(WebApplication app) => Addresses(app).Skip(1).FirstOrDefault() ?? throw new InvalidOperationException("The admin API is not listening.");

    private static IEnumerable<string> Addresses(WebApplication app) =>
        app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];

    // Host names may hold characters a node name must not ('.', spaces); the port keeps several nodes on one host apart.
    private static string DefaultNodeName(int port)
    {
        var host = new string([.. Environment.MachineName.ToLowerInvariant().Select(c => char.IsAsciiLetterOrDigit(c) || c == '-' ? c : '-')]);
        host = host.Length is 0 ? "node" : host[..Math.Min(host.Length, 48)];
        return $"{host}-{port}";
    }

    private static string FormatHostPort(IPEndPoint endpoint) =>
        endpoint.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{endpoint.Address}]:{endpoint.Port}" : $"{endpoint.Address}:{endpoint.Port}";

    private static int FreePort(IPAddress address)
    {
        using var listener = new TcpListener(address, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>A cluster member's identity.</summary>
    /// <param name="NodeName">The node name (observer references and lease holders carry it).</param>
    /// <param name="Advertise">The gRPC address other nodes call.</param>
    /// <param name="Redis">The cluster's Redis.</param>
    /// <param name="Prefix">The cluster's Redis key prefix.</param>
    /// <param name="Membership">The live membership view.</param>
    internal sealed record ClusterNodeInfo(string NodeName, string Advertise, string Redis, string Prefix, IClusterMembership Membership);

    /// <summary>A host lifetime that leaves signals to Program, which stops the node through <see cref="StopAsync"/>.</summary>
    private sealed class NodeLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
