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
    private readonly Counter<long> _retriesAdmitted;
    private readonly Counter<long> _retriesRefused;
    private readonly KeyValuePair<string, object?>[] _classes;

    public RoutingMetrics(IMeterFactory? meterFactory, string nodeId, Func<int> queuedOutcomes, Func<int> pendingDecisions,
        IReadOnlyList<string>? classNames = null)
    {
        _ownsMeter = meterFactory is null;
        _meter = meterFactory?.Create(MeterName) ?? new Meter(MeterName);
        _node = new("node", nodeId);
        _delivered = _meter.CreateCounter<long>("routing.outcomes.delivered", description: "Outcomes delivered to their endpoint grains.");
        _dropped = _meter.CreateCounter<long>("routing.outcomes.dropped", description: "Oldest queued outcomes dropped because the queue was full.");
        // Tagged with the class (one tag per class, made once), moved only by retries (Route with attempt > 0).
        _classes = [.. (classNames ?? []).Select(c => new KeyValuePair<string, object?>("class", c))];
        _retriesAdmitted = _meter.CreateCounter<long>("routing.retries.admitted", description: "Retries (Route with attempt > 0) the class's retry budget admitted.");
        _retriesRefused = _meter.CreateCounter<long>("routing.retries.refused", description: "Retries refused with retry_budget_exhausted.");
        _meter.CreateObservableUpDownCounter("routing.outcomes.queued", () => new Measurement<int>(queuedOutcomes(), _node),
            description: "Outcomes waiting for the next flush to the grains.");
        _meter.CreateObservableUpDownCounter("routing.decisions.pending", () => new Measurement<int>(pendingDecisions(), _node),
            description: "Decisions whose reservations await an outcome to reconcile them.");
    }

    public void OutcomesDelivered(int count) => _delivered.Add(count, _node);

    public void OutcomesDropped(int count) => _dropped.Add(count, _node);

    public void RetryAdmitted(int classIndex) => _retriesAdmitted.Add(1, _node, _classes[classIndex]);

    public void RetryRefused(int classIndex) => _retriesRefused.Add(1, _node, _classes[classIndex]);

    public void Dispose()
    {
        if (_ownsMeter)
        {
            _meter.Dispose();
        }
    }
}
