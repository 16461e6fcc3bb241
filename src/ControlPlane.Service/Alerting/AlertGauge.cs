using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using ControlPlane.Domain.Slo;

namespace ControlPlane.Service.Alerting;

/// <summary>The <c>controlplane.alerts.active</c> gauge of one silo: the pending and firing alerts of the grains active
/// on it, by <c>controlplane.alert.rule</c>, <c>controlplane.alert.severity</c> and <c>controlplane.alert.state</c>. Each
/// alert is owned by one grain, so summing the silos' gauges counts each alert once.</summary>
internal sealed class AlertGauge : IDisposable
{
    /// <summary>The meter the gauge is registered on (shared with the other control-plane instruments).</summary>
    public const string MeterName = "ControlPlane";

    private readonly ConcurrentDictionary<string, (string Rule, AlertSeverity Severity, AlertState State)> _active = new(StringComparer.Ordinal);
    private readonly Meter _meter;
    private readonly bool _ownsMeter;

    public AlertGauge(IMeterFactory? meterFactory = null, ILocalSiloDetails? silo = null)
    {
        _ownsMeter = meterFactory is null;
        // Tagged with the silo: one meter identity per silo (the OpenTelemetry SDK merges meters of one identity).
        _meter = Telemetry.ControlPlaneTelemetry.CreateMeter(meterFactory, silo?.Name);
        _meter.CreateObservableGauge("controlplane.alerts.active", Observe, "{alert}", "Pending and firing alerts owned by grains on this silo.");
    }

    /// <summary>Replaces what the gauge holds for <paramref name="records"/>' keys.</summary>
    public void Update(IEnumerable<AlertRecord> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        foreach (var record in records)
        {
            if (record.IsActive)
            {
                _active[record.Key] = (record.Rule, record.Severity, record.State);
            }
            else
            {
                _active.TryRemove(record.Key, out _);
            }
        }
    }

    /// <summary>Forgets <paramref name="records"/> (their grain deactivated; its next activation reports them again).</summary>
    public void Remove(IEnumerable<AlertRecord> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        foreach (var record in records)
        {
            _active.TryRemove(record.Key, out _);
        }
    }

    public void Dispose()
    {
        if (_ownsMeter)
        {
            _meter.Dispose();
        }
    }

    private IEnumerable<Measurement<long>> Observe()
    {
        var counts = new Dictionary<(string, AlertSeverity, AlertState), long>();
        foreach (var (_, value) in _active)
        {
            counts[value] = counts.GetValueOrDefault(value) + 1;
        }

        foreach (var ((rule, severity, state), count) in counts)
        {
            yield return new Measurement<long>(count,
                new KeyValuePair<string, object?>("controlplane.alert.rule", rule),
                new KeyValuePair<string, object?>("controlplane.alert.severity", AlertWire.Name(severity)),
                new KeyValuePair<string, object?>("controlplane.alert.state", AlertWire.Name(state)));
        }
    }
}
