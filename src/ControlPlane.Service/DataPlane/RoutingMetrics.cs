using System.Diagnostics.Metrics;

namespace ControlPlane.Service.DataPlane;

/// <summary>The routing node's instruments, on one meter named <see cref="MeterName"/> (tagged with the node id).
/// Route and Report pay nothing for them: gauges are read when collected, counters move once per flush or drop.</summary>
internal sealed class RoutingMetrics : IDisposable
{
    public const string MeterName = "ControlPlane.Routing";

    private readonly Meter _meter;
    private readonly bool _ownsMeter;
    private readonly KeyValuePair<string, object?> _node;
    private readonly Counter<long> _delivered;
    private readonly Counter<long> _dropped;

    public RoutingMetrics(IMeterFactory? meterFactory, string nodeId, Func<int> queuedOutcomes, Func<int> pendingDecisions)
    {
        _ownsMeter = meterFactory is null;
        _meter = meterFactory?.Create(MeterName) ?? new Meter(MeterName);
        _node = new("node", nodeId);
        _delivered = _meter.CreateCounter<long>("routing.outcomes.delivered", description: "Outcomes delivered to their endpoint grains.");
        _dropped = _meter.CreateCounter<long>("routing.outcomes.dropped", description: "Oldest queued outcomes dropped because the queue was full.");
        _meter.CreateObservableUpDownCounter("routing.outcomes.queued", () => new Measurement<int>(queuedOutcomes(), _node),
            description: "Outcomes waiting for the next flush to the grains.");
        _meter.CreateObservableUpDownCounter("routing.decisions.pending", () => new Measurement<int>(pendingDecisions(), _node),
            description: "Decisions whose reservations await an outcome to reconcile them.");
    }

    public void OutcomesDelivered(int count) => _delivered.Add(count, _node);

    public void OutcomesDropped(int count) => _dropped.Add(count, _node);

    public void Dispose()
    {
        if (_ownsMeter)
        {
            _meter.Dispose();
        }
    }
}
