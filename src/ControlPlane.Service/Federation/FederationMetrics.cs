using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using ControlPlane.Service.Telemetry;
using Microsoft.Extensions.Options;

namespace ControlPlane.Service.Federation;

/// <summary>The federation link's instruments on the <c>ControlPlane</c> meter: <c>controlplane.federation.link.up</c>
/// (1 while this node's feed reader for a peer region receives messages, 0 when it lost the link; only the node leading
/// a peer's link reports it), <c>controlplane.federation.lag</c> (seconds from a change published in its home region to
/// its adoption here) and <c>controlplane.federation.changes</c> (changes adopted), all by <c>controlplane.region.peer</c>.</summary>
internal sealed class FederationMetrics : IDisposable
{
    /// <summary>The peer region attribute.</summary>
    public const string PeerTag = "controlplane.region.peer";

    private readonly Meter _meter;
    private readonly Histogram<double> _lag;
    private readonly Counter<long> _changes;
    private readonly ConcurrentDictionary<string, int> _links = new(StringComparer.Ordinal);

    public FederationMetrics(IOptions<ControlPlaneOptions> options, IMeterFactory? meterFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _meter = ControlPlaneTelemetry.CreateMeter(meterFactory, options.Value.NodeId);
        _lag = _meter.CreateHistogram<double>("controlplane.federation.lag", "s",
            "Time from a change published in its home region to its adoption in this region, by peer region.");
        _changes = _meter.CreateCounter<long>("controlplane.federation.changes", "{change}", "Changes adopted from a peer region's feed.");
        _meter.CreateObservableGauge("controlplane.federation.link.up",
            () => _links.Select(l => new Measurement<int>(l.Value, new KeyValuePair<string, object?>(PeerTag, l.Key))), "1",
            "1 while the feed from a peer region is live (changes or heartbeats arriving), 0 when the link is down.");
    }

    /// <summary>The link's state as last set (for tests and the admin view).</summary>
    public bool? IsUp(string peer) => _links.TryGetValue(peer, out var up) ? up == 1 : null;

    public void LinkUp(string peer, bool up) => _links[peer] = up ? 1 : 0;

    /// <summary>This node stopped leading the peer's link: it no longer reports it.</summary>
    public void Forget(string peer) => _links.TryRemove(peer, out _);

    public void Adopted(string peer, double lagSeconds)
    {
        var tag = new KeyValuePair<string, object?>(PeerTag, peer);
        _changes.Add(1, tag);
        _lag.Record(Math.Max(0, lagSeconds), tag);
    }

    public void Dispose() => _meter.Dispose();
}
