using System.Net;
using ControlPlane.Drills.Stack;

namespace ControlPlane.Server.Drills;

/// <summary>The control plane of a <c>--cluster 3</c> drill: a real <c>redis-server</c> (<see cref="DrillRedisServer"/>)
/// and three in-process nodes forming one Orleans cluster on it (Redis clustering and grain state, as
/// <c>controlplane --redis</c> runs), each with its own free loopback silo, gateway, gRPC and admin ports, the drill's
/// breaker timing and one bootstrap key. Dispose stops the nodes one at a time (as a rolling stop would), then
/// redis-server, and deletes its folder.</summary>
internal sealed class ClusterDrillControlPlane : IDrillControlPlane
{
    /// <summary>How many nodes <c>--cluster 3</c> starts.</summary>
    internal const int NodeCount = 3;

    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(60);

    private readonly DrillRedisServer _redis;
    private readonly List<WebApplication> _nodes;

    private ClusterDrillControlPlane(DrillRedisServer redis, List<WebApplication> nodes, string apiKey)
    {
        _redis = redis;
        _nodes = nodes;
        ApiKey = apiKey;
        GrpcUris = [.. nodes.Select(n => new Uri(NodeHost.GrpcAddress(n) + "/"))];
        AdminUris = [.. nodes.Select(n => new Uri(NodeHost.AdminAddress(n) + "/"))];
    }

    /// <summary>The first node's data-plane address.</summary>
    public Uri GrpcUri => GrpcUris[0];

    /// <summary>Every node's data-plane address, in start order.</summary>
    public IReadOnlyList<Uri> GrpcUris { get; }

    /// <summary>The first node's admin API (every node answers for the whole cluster).</summary>
    public Uri AdminUri => AdminUris[0];

    /// <summary>Every node's admin API, in start order.</summary>
    public IReadOnlyList<Uri> AdminUris { get; }

    public string ApiKey { get; }

    public string Description => $"{NodeCount}-node cluster on redis-server";

    /// <summary>The redis-server the nodes share.</summary>
    internal DrillRedisServer Redis => _redis;

    /// <summary>Starts the cluster for <paramref name="launch"/>, finding redis-server on PATH.</summary>
    public static async Task<IDrillControlPlane> StartAsync(ControlPlaneLaunch launch, CancellationToken cancellationToken) =>
        await StartAsync(launch, Environment.GetEnvironmentVariable("PATH"), cancellationToken).ConfigureAwait(false);

    /// <summary>Starts the cluster, finding redis-server in the folders of <paramref name="searchPath"/> (a PATH value).</summary>
    /// <exception cref="InvalidOperationException">redis-server is not there (the message names the Debian package), or
    /// did not start.</exception>
    internal static async Task<ClusterDrillControlPlane> StartAsync(ControlPlaneLaunch launch, string? searchPath, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(launch);
        if (launch.Nodes != NodeCount)
        {
            throw new ArgumentOutOfRangeException(nameof(launch), launch.Nodes, $"--cluster: a drill cluster has {NodeCount} nodes.");
        }

        var executable = DrillRedisServer.Locate(searchPath);
        var redis = await DrillRedisServer.StartAsync(executable, Path.Combine(launch.WorkDirectory, "redis"), cancellationToken).ConfigureAwait(false);
        var (_, key, _) = Service.Security.ApiKeyTokens.Generate();
        var clusterId = "drill-" + Guid.NewGuid().ToString("N")[..12];
        var nodes = new List<WebApplication>();
        try
        {
            // One after the other: the first creates the cluster's membership table, the others join it.
            for (var i = 1; i <= NodeCount; i++)
            {
                nodes.Add(await StartNodeAsync(launch, redis.Endpoint, clusterId, $"drill-node-{i}", key, cancellationToken).ConfigureAwait(false));
            }
        }
        catch
        {
            await StopAsync(nodes).ConfigureAwait(false);
            await redis.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return new ClusterDrillControlPlane(redis, nodes, key);
    }

    private static async Task<WebApplication> StartNodeAsync(ControlPlaneLaunch launch, string redis, string clusterId, string name, string key,
        CancellationToken cancellationToken)
    {
        var options = new NodeOptions
        {
            GrpcEndpoint = new IPEndPoint(IPAddress.Loopback, 0),
            AdminEndpoint = new IPEndPoint(IPAddress.Loopback, 0),
            RedisEndpoint = redis,
            ClusterPrefix = clusterId,
            SiloPort = 0,
            GatewayPort = 0,
            AdminKey = key,
            NodeName = name,
            Dashboard = false,
            // Each node's own folder (its bootstrap key file): three nodes in one process must not share "data".
            DataDirectory = Path.Combine(launch.WorkDirectory, name),
            FleetPath = launch.FleetPath,
        };
        var app = NodeHost.Build(options, launch.Fleet, builder =>
        {
            builder.Logging.ClearProviders();
        }, controlPlane => EmbeddedDrillControlPlane.Apply(controlPlane, launch.Tuning));
        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await app.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return app;
    }

    // Newest first, each handing its grains to the ones still up; every node is stopped even when one fails.
    private static async Task StopAsync(List<WebApplication> nodes)
    {
        List<Exception> errors = [];
        for (var i = nodes.Count - 1; i >= 0; i--)
        {
            try
            {
                using var timeout = new CancellationTokenSource(StopTimeout);
                await NodeHost.StopAsync(nodes[i], timeout.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or InvalidOperationException or AggregateException)
            {
                errors.Add(e);
            }
            finally
            {
                await nodes[i].DisposeAsync().ConfigureAwait(false);
            }
        }

        nodes.Clear();
        if (errors.Count > 0)
        {
            throw new AggregateException("Some drill nodes did not stop cleanly.", errors);
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await StopAsync(_nodes).ConfigureAwait(false);
        }
        finally
        {
            await _redis.DisposeAsync().ConfigureAwait(false);
        }
    }
}
