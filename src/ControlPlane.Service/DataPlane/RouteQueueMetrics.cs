using System.Diagnostics.Metrics;

namespace ControlPlane.Service.DataPlane;

/// <summary>The held-call instruments, on the routing node's meter (<see cref="RoutingMetrics.MeterName"/>, tagged
/// with the node id): <c>controlplane.queue.depth</c>, an observable gauge of the calls held per class, and
/// <c>controlplane.queue.wait</c>, a histogram of how long each held call waited (seconds), tagged with its class and
/// how the wait ended (<c>controlplane.queue.result</c> (<c>served</c>, <c>expired</c>, <c>cancelled</c>, <c>full</c>, <c>failed</c>). Nothing is
/// measured on a Route that is not held.</summary>
internal sealed class RouteQueueMetrics : IDisposable
{
    public const string Served = "served";
    public const string Expired = "expired";
    public const string Cancelled = "cancelled";
    public const string Full = "full";
    public const string Failed = "failed";

    private readonly Meter _meter;
    private readonly bool _ownsMeter;
    private readonly KeyValuePair<string, object?>[] _classes;
    private readonly Histogram<double> _wait;

    public RouteQueueMetrics(IMeterFactory? meterFactory, string nodeId, IReadOnlyList<string> classNames, Func<int, int> depth)
    {
        _ownsMeter = meterFactory is null;
        _meter = Telemetry.ControlPlaneTelemetry.CreateMeter(meterFactory, nodeId);
        _classes = [.. classNames.Select(name => new KeyValuePair<string, object?>(Telemetry.ControlPlaneTelemetry.Keys.WorkloadClass, name))];
        _wait = _meter.CreateHistogram<double>("controlplane.queue.wait", unit: "s",
            description: "How long a held Route call of a queue_only class waited, by how the wait ended.");
        _meter.CreateObservableGauge("controlplane.queue.depth", () => Depths(depth), unit: "{request}", description: "Route calls of a queue_only class held now.");
    }

    public void Waited(int classIndex, TimeSpan waited, string result) =>
        _wait.Record(waited.TotalSeconds, _classes[classIndex], new(Telemetry.ControlPlaneTelemetry.Keys.QueueResult, result));

    public void Dispose()
    {
        if (_ownsMeter)
        {
            _meter.Dispose();
        }
    }

    private IEnumerable<Measurement<int>> Depths(Func<int, int> depth)
    {
        var measurements = new Measurement<int>[_classes.Length];
        for (var c = 0; c < _classes.Length; c++)
        {
            measurements[c] = new Measurement<int>(depth(c), _classes[c]);
        }

        return measurements;
    }
}
