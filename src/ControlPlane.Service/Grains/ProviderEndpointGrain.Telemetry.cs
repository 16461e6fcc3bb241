using ControlPlane.Domain.Breakers;
using ControlPlane.Domain.Endpoints;
using ControlPlane.Domain.Health;
using ControlPlane.Domain.Quotas;
using ControlPlane.Service.Admin;
using ControlPlane.Service.Telemetry;

namespace ControlPlane.Service.Grains;

// Breaker transitions, once persisted: counted (controlplane.breaker.transitions) and logged (BreakerTransition), with
// the signal behind them. Overrides count as states of their own (forced_open, forced_closed, draining).
internal sealed partial class ProviderEndpointGrain
{
    private void RecordTransitions(IReadOnlyList<HealthEvent> events, AdminOverride? overrideBefore)
    {
        var active = overrideBefore?.Kind;
        var after = State.Override?.Kind;
        foreach (var e in events)
        {
            if (e.WorkloadClass is not null || !GrainInstruments.IsTransition(e.Event))
            {
                continue;
            }

            var ev = e.Event;
            string from, to;
            switch (ev.Kind)
            {
                case BreakerEventKind.OverrideSet:
                    from = GrainInstruments.StateName(ev.From, active);
                    to = GrainInstruments.StateName(ev.To, after);
                    active = after;
                    break;
                case BreakerEventKind.OverrideCleared or BreakerEventKind.OverrideExpired:
                    from = GrainInstruments.StateName(ev.From, active);
                    to = AdminNames.Breaker(ev.To);
                    active = null;
                    break;
                default:
                    from = GrainInstruments.StateName(ev.From, active);
                    to = GrainInstruments.StateName(ev.To, active);
                    break;
            }

            if (from == to && ev.Kind == BreakerEventKind.StateChanged)
            {
                continue;
            }

            var signal = GrainInstruments.SignalOf(ev);
            instruments.Transition(_descriptor.Id, from, to, signal);
            TelemetryLog.BreakerTransition(logger, _descriptor.Id, from, to, signal);
        }
    }
}

// Lease grants and refusals (controlplane.lease.*) and the provider quota's utilization (controlplane.quota.utilization).
internal sealed partial class ProviderEndpointGrain
{
    private QuotaLease? CountLease(QuotaLease? lease)
    {
        if (lease is null)
        {
            instruments.LeaseRefused("endpoint", _descriptor.Id);
        }
        else
        {
            instruments.LeaseGranted("endpoint", _descriptor.Id);
        }

        var (tokens, requests) = _quota.Utilization();
        if (tokens is { } t)
        {
            instruments.SetUtilization("endpoint", _descriptor.Id, "tpm", t);
        }

        if (requests is { } r)
        {
            instruments.SetUtilization("endpoint", _descriptor.Id, "rpm", r);
        }

        return lease;
    }
}
