using System.Net;
using ControlPlane.Drills.Targets;
using ControlPlane.Providers;
using ControlPlane.Proxy;

namespace ControlPlane.Drills.Stack;

/// <summary><c>--target proxy</c>: N replicas of our reference proxy (<see cref="ProxyHost"/>) in process, each on its
/// own loopback port, routing through the drill's control plane with its key (replica i through node i mod nodes) and calling the simulator's endpoints
/// from the upstreams file.</summary>
internal sealed class ProxyComponent : IDrillTargetHost
{
    private readonly List<ProxyHost> _hosts;

    private ProxyComponent(List<ProxyHost> hosts)
    {
        _hosts = hosts;
        Replicas = [.. hosts.Select((h, i) => new ProxyDrillTarget(h.BaseUri, $"proxy-{i + 1}"))];
    }

    public IReadOnlyList<IDrillTarget> Replicas { get; }

    public static async Task<IDrillTargetHost> StartAsync(DrillTargetContext context, CancellationToken cancellationToken)
    {
        var upstreams = UpstreamsFile.Load(context.Simulator.UpstreamsPath);
        var nodes = context.ControlPlane.GrpcUris;
        if (nodes.Count == 0)
        {
            throw new InvalidOperationException("The drill's control plane named no gRPC address.");
        }

        var hosts = new List<ProxyHost>();
        try
        {
            for (var i = 0; i < context.Replicas; i++)
            {
                hosts.Add(await ProxyHost.StartAsync(new ProxyOptions
                {
                    ControlPlane = ReplicaNode(nodes, i),
                    Credential = context.ControlPlane.ApiKey,
                    Upstreams = upstreams,
                    Listen = new IPEndPoint(IPAddress.Loopback, 0),
                }, cancellationToken).ConfigureAwait(false));
            }
        }
        catch
        {
            foreach (var host in hosts)
            {
                await host.DisposeAsync().ConfigureAwait(false);
            }

            throw;
        }

        return new ProxyComponent(hosts);
    }

    /// <summary>The control-plane node replica <paramref name="replica"/> routes through: replicas spread over the nodes
    /// round-robin (replica i on node i mod count), so a cluster's every node serves Route calls.</summary>
    internal static Uri ReplicaNode(IReadOnlyList<Uri> nodes, int replica) => nodes[replica % nodes.Count];

    public async ValueTask DisposeAsync()
    {
        foreach (var host in _hosts)
        {
            await host.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>The factory <c>--target proxy</c> selects.</summary>
    internal sealed class Factory : IDrillTargetFactory
    {
        public string Name => "proxy";

        public Task<IDrillTargetHost> StartAsync(DrillTargetContext context, CancellationToken cancellationToken) =>
            ProxyComponent.StartAsync(context, cancellationToken);
    }
}
