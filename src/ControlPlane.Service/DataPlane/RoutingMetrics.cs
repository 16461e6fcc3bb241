using System.Diagnostics.Metrics;
using ControlPlane.Service.Telemetry;

namespace ControlPlane.Service.DataPlane;

/// <summary>The routing node's bookkeeping instruments, on the <see cref="ControlPlaneTelemetry.MeterName"/> meter
/// (tagged with the node id, <see cref="ControlPlaneTelemetry.NodeTag"/>). Route and Report pay nothing for them:
/// gauges are read when collected, counters move once per flush or drop, or once per retry.</summary>
internal sealed class RoutingMetrics : IDisposable
{
    /// <summary>The meter's name (formerly <c>ControlPlane.Routing</c>).</summary>
    public const string MeterName = ControlPlaneTelemetry.MeterName;

    private readonly Meter _meter;
    private readonly bool _ownsMeter;
    private readonly Counter<long> _delivered;
    private readonly Counter<long> _dropped;
    private readonly Counter<long> _retriesAdmitted;
    private readonly Counter<long> _retriesRefused;
    private readonly KeyValuePair<string, object?>[] _classes;

    public RoutingMetrics(IMeterFactory? meterFactory, string nodeId, Func<int> queuedOutcomes, Func<int> pendingDecisions,
        IReadOnlyList<string>? classNames = null)
    {
        _ownsMeter = meterFactory is null;
        _meter = ControlPlaneTelemetry.CreateMeter(meterFactory, nodeId);
        _delivered = _meter.CreateCounter<long>("controlplane.outcome_flush.delivered", "{outcome}", "Outcomes delivered to their endpoint grains.");
        _dropped = _meter.CreateCounter<long>("controlplane.outcome_flush.dropped", "{outcome}", "Oldest queued outcomes dropped because the queue was full.");
        // Tagged with the class (one tag per class, made once), moved only by retries (Route with attempt > 0).
        _classes = [.. (classNames ?? []).Select(c => new KeyValuePair<string, object?>(ControlPlaneTelemetry.Keys.WorkloadClass, c))];
        _retriesAdmitted = _meter.CreateCounter<long>("controlplane.retry_budget.admitted", "{retry}", "Retries (Route with attempt > 0) the class's retry budget admitted.");
        _retriesRefused = _meter.CreateCounter<long>("controlplane.retry_budget.refusals", "{retry}", "Retries refused with retry_budget_exhausted.");
        _meter.CreateObservableUpDownCounter("controlplane.outcome_flush.queued", queuedOutcomes, "{outcome}",
            "Outcomes waiting for the next flush to the grains.");
        _meter.CreateObservableUpDownCounter("controlplane.decisions.pending", pendingDecisions, "{decision}",
            "Decisions whose reservations await an outcome to reconcile them.");
    }

    public void OutcomesDelivered(int count) => _delivered.Add(count);

    public void OutcomesDropped(int count) => _dropped.Add(count);

    public void RetryAdmitted(int classIndex) => _retriesAdmitted.Add(1, _classes[classIndex]);

    public void RetryRefused(int classIndex) => _retriesRefused.Add(1, _classes[classIndex]);

    public void Dispose()
    {
        if (_ownsMeter)
        {
            _meter.Dispose();
        }
    }
}
