using System.Diagnostics.Metrics;

namespace ControlPlane.Grains.Diagnostics;

/// <summary>The runtime's instruments, on one meter named <see cref="MeterName"/> (tagged with the silo id).
/// Only lifecycle events and timeouts are counted, so the call path pays nothing.</summary>
internal sealed class GrainMetrics : IDisposable
{
    public const string MeterName = "ControlPlane.Grains";

    private readonly Meter _meter;
    private readonly bool _ownsMeter;
    private readonly KeyValuePair<string, object?> _silo;
    private readonly Counter<long> _activations;
    private readonly Counter<long> _activationFailures;
    private readonly Counter<long> _deactivations;
    private readonly Counter<long> _callTimeouts;

    public GrainMetrics(IMeterFactory? meterFactory, string siloId, Func<int> liveActivations)
    {
        _ownsMeter = meterFactory is null;
        _meter = meterFactory?.Create(MeterName) ?? new Meter(MeterName);
        _silo = new("silo", siloId);
        _activations = _meter.CreateCounter<long>("grains.activations", description: "Activations that completed OnActivateAsync.");
        _activationFailures = _meter.CreateCounter<long>("grains.activation.failures", description: "Activations that failed (unreadable state, constructor or OnActivateAsync errors).");
        _deactivations = _meter.CreateCounter<long>("grains.deactivations", description: "Deactivations, by reason.");
        _callTimeouts = _meter.CreateCounter<long>("grains.call.timeouts", description: "Grain calls that exceeded the call timeout.");
        _meter.CreateObservableUpDownCounter("grains.live", () => new Measurement<int>(liveActivations(), _silo), description: "Live activations (grains and observers).");
    }

    public void Activated() => _activations.Add(1, _silo);

    public void ActivationFailed() => _activationFailures.Add(1, _silo);

    public void Deactivated(DeactivationReason reason) => _deactivations.Add(1, _silo, new KeyValuePair<string, object?>("reason", reason.ToString()));

    public void CallTimedOut() => _callTimeouts.Add(1, _silo);

    public void Dispose()
    {
        if (_ownsMeter)
        {
            _meter.Dispose();
        }
    }
}
