using ControlPlane.Fleet;

namespace ControlPlane.Service.Grains;

// Synthetic evals (docs/evals.md): the endpoint's recovery gate comes from the fleet file (recovery_gate: over
// evals.recovery_gate) and follows reloads; its progress is persisted with the breaker like the ramp's (learned state,
// written at the next evaluation period when it moved; a transition it causes is persisted before it is pushed).
internal sealed partial class ProviderEndpointGrain
{
    private void ApplyRecoveryGate(EndpointCatalogEntry entry) =>
        _health.Endpoint.Breaker.ConfigureRecoveryGate(entry.RecoveryGate?.ToOptions());

    // True when the gate counted synthetic outcomes since the breaker was last written.
    private bool GateMoved()
    {
        var progress = _health.Endpoint.Breaker.GateProgress;
        var persisted = State.Breaker;
        return progress.Probes != (persisted?.GateProbes ?? 0) || progress.Consecutive != (persisted?.GateConsecutive ?? 0);
    }
}
