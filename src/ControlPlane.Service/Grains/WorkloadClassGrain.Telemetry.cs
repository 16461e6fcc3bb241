using ControlPlane.Domain.Quotas;
using ControlPlane.Domain.Slo;

namespace ControlPlane.Service.Grains;

// Class budget lease grants and refusals, and the SLO gauges (controlplane.slo.*) published every alert period.
internal sealed partial class WorkloadClassGrain
{
    private static readonly (string Name, TimeSpan Window)[] BurnWindows =
        [("5m", TimeSpan.FromMinutes(5)), ("30m", TimeSpan.FromMinutes(30)), ("1h", TimeSpan.FromHours(1)), ("6h", TimeSpan.FromHours(6))];

    private static readonly (string Name, SloKind Kind)[] Objectives =
        [("availability", SloKind.Availability), ("quality", SloKind.Quality), ("latency", SloKind.Latency)];

    private QuotaLease? CountLease(QuotaLease? lease)
    {
        if (lease is null)
        {
            instruments.LeaseRefused("class", _policy.Name);
        }
        else
        {
            instruments.LeaseGranted("class", _policy.Name);
        }

        return lease;
    }

    private void PublishSloGauges(DateTimeOffset now)
    {
        foreach (var (objective, kind) in Objectives)
        {
            instruments.SetBudgetRemaining(_policy.Name, objective, _slo.Budget(kind, now).Remaining);
            foreach (var (name, window) in BurnWindows)
            {
                instruments.SetBurnRate(_policy.Name, objective, name, _slo.BurnRate(kind, now, window));
            }
        }
    }
}
