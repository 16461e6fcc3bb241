using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using ControlPlane.Service.Telemetry;
using Microsoft.Extensions.Options;

namespace ControlPlane.Service.Federation;

/// <summary>The federation link's instruments on the <c>ControlPlane</c> meter: <c>controlplane.federation.link.up</c>
/// (per configured peer region on every node from its start: 1 while this node leads the peer's link and its feed
/// receives messages, otherwise 0; the region's link is up when the maximum over its nodes is 1),
/// <c>controlplane.federation.lag</c> (seconds from a change published in its home region to its adoption here) and
/// <c>controlplane.federation.changes</c> (changes adopted), all by <c>controlplane.region</c> (this region) and
/// <c>controlplane.region.peer</c>.</summary>
internal sealed class FederationMetrics : IDisposable
{
    /// <summary>The peer region attribute.</summary>
    public const string PeerTag = "controlplane.region.peer";

    /// <summary>This node's own region attribute (so one Prometheus may scrape several regions).</summary>
    public const string RegionTag = "controlplane.region";

    /// <summary>Bucket boundaries of the lag histogram, in seconds: fine below a second, where the p99 goal (250 ms on
    /// loopback) and the <c>region-lag-high</c> threshold lie, coarse up to the reconnect backoff and beyond.</summary>
    internal static readonly double[] LagBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

    private readonly Meter _meter;
    private readonly Histogram<double> _lag;
    private readonly Counter<long> _changes;
    private readonly string _region;
    private readonly ConcurrentDictionary<string, int> _links = new(StringComparer.Ordinal);

    public FederationMetrics(IOptions<ControlPlaneOptions> options, IOptions<FederationOptions> federation, IMeterFactory? meterFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(federation);
        _region = federation.Value.Region ?? "";
        // Every configured peer is reported from the start, down until a link to it is read: a link that never came up
        // is an alert too, not a missing series.
        if (federation.Value.Enabled)
        {
            foreach (var peer in federation.Value.Peers.Keys)
            {
                _links[peer] = 0;
            }
        }

        _meter = ControlPlaneTelemetry.CreateMeter(meterFactory, options.Value.NodeId);
        _lag = _meter.CreateHistogram<double>("controlplane.federation.lag", "s",
            "Time from a change published in its home region to its adoption in this region, by peer region.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LagBuckets });
        _changes = _meter.CreateCounter<long>("controlplane.federation.changes", "{change}", "Changes adopted from a peer region's feed.");
        _meter.CreateObservableGauge("controlplane.federation.link.up",
            () => _links.Select(l => new Measurement<int>(l.Value, new KeyValuePair<string, object?>(RegionTag, _region),
                new KeyValuePair<string, object?>(PeerTag, l.Key))), "1",
            "1 while this node leads the link to a peer region and its feed is live (changes or heartbeats arriving), otherwise 0; " +
            "the region's link is the maximum over its nodes.");
    }

    /// <summary>The link's state as last set (for tests and the admin view); null for a region that is not a peer.</summary>
    public bool? IsUp(string peer) => _links.TryGetValue(peer, out var up) ? up == 1 : null;

    public void LinkUp(string peer, bool up) => _links[peer] = up ? 1 : 0;

    /// <summary>This node stopped leading the peer's link: it reports the link as 0 (the leading node reports its state).</summary>
    public void Forget(string peer) => _links[peer] = 0;

    public void Adopted(string peer, double lagSeconds)
    {
        var region = new KeyValuePair<string, object?>(RegionTag, _region);
        var tag = new KeyValuePair<string, object?>(PeerTag, peer);
        _changes.Add(1, region, tag);
        _lag.Record(Math.Max(0, lagSeconds), region, tag);
    }

    public void Dispose() => _meter.Dispose();
}
