using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using ControlPlane.Service.Telemetry;

namespace ControlPlane.Service.Federation.Quotas;

/// <summary>Global quota gauges on the <c>ControlPlane</c> meter, one row per (peer region, endpoint) this silo's grains
/// hold: <c>controlplane.federation.lease.tokens</c> / <c>.requests</c> (a follower: units of its live region leases from
/// the home; a home: units in the peer's live region leases) and <c>controlplane.federation.partition_share.active</c>
/// (1 while a follower spends its partition share, or a home reserves it for a peer).</summary>
internal sealed class RegionQuotaMetrics : IDisposable
{
    /// <summary>The peer region attribute.</summary>
    public const string PeerKey = "controlplane.region.peer";

    private readonly Meter _meter;
    private readonly ConcurrentDictionary<(string Peer, string Endpoint), Row> _rows = new();

    public RegionQuotaMetrics(IMeterFactory? meterFactory = null, ILocalSiloDetails? silo = null)
    {
        _meter = ControlPlaneTelemetry.CreateMeter(meterFactory, silo?.Name);
        _meter.CreateObservableGauge("controlplane.federation.lease.tokens", () => Read(row => row.Tokens), "{token}",
            "Tokens of live region leases: a follower's from the endpoint's home, or a home's to the peer.");
        _meter.CreateObservableGauge("controlplane.federation.lease.requests", () => Read(row => row.Requests), "{request}",
            "Requests of region leases, as controlplane.federation.lease.tokens.");
        _meter.CreateObservableGauge("controlplane.federation.partition_share.active", () => Read(row => row.Partitioned ? 1 : 0), "1",
            "1 while a follower region spends its partition share of an endpoint's limit (its region lease expired unrenewed), or while the home reserves it for that peer.");
    }

    /// <summary>Publishes a row (a grain after a change).</summary>
    public void Set(string peer, string endpoint, long tokens, long requests, bool partitioned) =>
        _rows[(peer, endpoint)] = new Row(tokens, requests, partitioned);

    /// <summary>Removes an endpoint's rows (its grain deactivated).</summary>
    public void Remove(string endpoint)
    {
        foreach (var key in _rows.Keys.Where(k => k.Endpoint == endpoint).ToList())
        {
            _rows.TryRemove(key, out _);
        }
    }

    /// <summary>The current value of a row (tests).</summary>
    public bool TryGet(string peer, string endpoint, out (long Tokens, long Requests, bool Partitioned) value)
    {
        bool found = _rows.TryGetValue((peer, endpoint), out var row);
        value = found ? (row!.Tokens, row.Requests, row.Partitioned) : default;
        return found;
    }

    public void Dispose() => _meter.Dispose();

    private IEnumerable<Measurement<long>> Read(Func<Row, long> value) =>
        [.. _rows.Select(pair => new Measurement<long>(value(pair.Value),
            new KeyValuePair<string, object?>(PeerKey, pair.Key.Peer), new KeyValuePair<string, object?>(ControlPlaneTelemetry.Keys.Endpoint, pair.Key.Endpoint)))];

    private sealed record Row(long Tokens, long Requests, bool Partitioned);
}
