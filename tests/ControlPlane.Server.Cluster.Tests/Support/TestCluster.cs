using ControlPlane.Fleet;
using ControlPlane.Service;
using Xunit.Abstractions;

namespace ControlPlane.Server.Cluster.Tests.Support;

/// <summary>N in-process nodes of one cluster on one real redis-server, each a full <see cref="NodeHost"/> node on its
/// own loopback sockets (Kestrel gRPC and admin ports, Orleans silo and gateway ports). The cluster id is unique per
/// instance, so clusters of different tests can share a Redis.</summary>
internal sealed class TestCluster : IAsyncDisposable
{
    private readonly List<ClusterNode> _nodes = [];
    private readonly string _redis;
    private readonly FleetDefinition _fleet;
    private readonly Action<ControlPlaneOptions>? _configure;
    private readonly ITestOutputHelper? _output;

    public TestCluster(string redis, FleetDefinition? fleet = null, ITestOutputHelper? output = null, Action<ControlPlaneOptions>? configure = null,
        string? clusterId = null)
    {
        _redis = redis;
        _fleet = fleet ?? FleetLocator.Load(null);
        _output = output;
        _configure = configure;
        ClusterId = clusterId ?? NewClusterId();
    }

    /// <summary>The Orleans cluster id (<c>--cluster-prefix</c>).</summary>
    public string ClusterId { get; }

    /// <summary>The running nodes, in start order.</summary>
    public IReadOnlyList<ClusterNode> Nodes => _nodes;

    /// <summary>The running nodes that serve the data plane.</summary>
    public IReadOnlyList<ClusterNode> DataPlane => [.. _nodes.Where(n => n.Role != NodeRole.Silo)];

    /// <summary>The running silos.</summary>
    public IReadOnlyList<ClusterNode> Silos => [.. _nodes.Where(n => n.Role != NodeRole.DataPlane)];

    public ClusterNode this[int index] => _nodes[index];

    /// <summary>A fresh cluster id (at most 64 characters, no braces or whitespace).</summary>
    public static string NewClusterId() => "e2e-" + Guid.NewGuid().ToString("N")[..12];

    /// <summary>Starts a cluster of <paramref name="names"/>, one after the other, each as <paramref name="role"/>.</summary>
    public static async Task<TestCluster> StartAsync(string redis, string[] names, FleetDefinition? fleet = null, ITestOutputHelper? output = null,
        Action<ControlPlaneOptions>? configure = null, NodeRole role = NodeRole.Both)
    {
        var cluster = new TestCluster(redis, fleet, output, configure);
        try
        {
            await cluster.StartNodesAsync(role, names);
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>Starts more nodes (silos before data-plane nodes: a data-plane client needs a gateway).</summary>
    public async Task StartNodesAsync(NodeRole role, params string[] names)
    {
        foreach (var name in names)
        {
            _nodes.Add(await ClusterNode.StartAsync(_redis, ClusterId, name, _fleet, role, _configure, _output));
        }
    }

    /// <summary>Stops one node gracefully and drops it from <see cref="Nodes"/>.</summary>
    public async Task StopAsync(ClusterNode node)
    {
        _nodes.Remove(node);
        await node.StopAsync();
    }

    /// <summary>Disposes one node without stopping it (see <see cref="ClusterNode.CrashAsync"/>) and drops it.</summary>
    public async Task CrashAsync(ClusterNode node)
    {
        _nodes.Remove(node);
        await node.CrashAsync();
    }

    /// <summary>Stops every node gracefully, one at a time as a rolling stop would: data-plane nodes first, then the
    /// silos, each handing its grains to the ones still up.</summary>
    public async Task StopAllAsync()
    {
        var order = _nodes.Where(n => n.Role == NodeRole.DataPlane).Concat(_nodes.Where(n => n.Role != NodeRole.DataPlane)).ToList();
        _nodes.Clear();
        List<Exception> errors = [];
        foreach (var node in order)
        {
            try
            {
                await node.StopAsync();
            }
            catch (Exception error)
            {
                errors.Add(error);
            }
        }

        if (errors.Count > 0)
        {
            throw new AggregateException("Some nodes did not stop cleanly.", errors);
        }
    }

    public async ValueTask DisposeAsync() => await StopAllAsync();
}
