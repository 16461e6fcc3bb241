using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using ControlPlane.Domain.Breakers;
using ControlPlane.Domain.Endpoints;
using ControlPlane.Domain.Health;
using ControlPlane.Service.Admin;
using Keys = ControlPlane.Service.Telemetry.ControlPlaneTelemetry.Keys;

namespace ControlPlane.Service.Telemetry;

/// <summary>The silo's grain-side instruments on the <see cref="ControlPlaneTelemetry.MeterName"/> meter (one per
/// silo, a singleton): breaker transitions (endpoint grains, with the signal that tripped them), lease grants and
/// refusals, and the per-silo registries the observable gauges read: quota utilization (endpoint and class grains)
/// and SLO burn rates and remaining error budgets (class grains). A grain publishes its latest values here after a
/// change; a grain that deactivates removes its rows, so a gauge shows only grains this silo hosts.</summary>
internal sealed class GrainInstruments : IDisposable
{
    private readonly Meter _meter;
    private readonly Counter<long> _transitions;
    private readonly Counter<long> _grants;
    private readonly Counter<long> _refusals;
    private readonly ConcurrentDictionary<(string Scope, string Id, string Kind), double> _utilization = new();
    private readonly ConcurrentDictionary<(string Class, string Objective, string Window), double> _burnRates = new();
    private readonly ConcurrentDictionary<(string Class, string Objective), double> _budgets = new();

    public GrainInstruments(IMeterFactory? meterFactory = null, ILocalSiloDetails? silo = null)
    {
        // Tagged with the silo (a meter tag, like a node's): one meter identity per silo.
        _meter = ControlPlaneTelemetry.CreateMeter(meterFactory, silo?.Name);
        _transitions = _meter.CreateCounter<long>("controlplane.breaker.transitions", "{transition}",
            "Breaker transitions persisted by endpoint grains, by endpoint, from, to and the signal behind them.");
        _grants = _meter.CreateCounter<long>("controlplane.lease.grants", "{lease}", "Quota leases granted to nodes, by scope.");
        _refusals = _meter.CreateCounter<long>("controlplane.lease.refusals", "{lease}", "Quota lease asks refused (nothing left to grant), by scope.");
        _meter.CreateObservableGauge("controlplane.quota.utilization", () => Read(_utilization, k => [
            new(Keys.Scope, k.Scope), new(Keys.ScopeId, k.Id), new(Keys.QuotaKind, k.Kind)]), "1",
            "Share of a quota granted or spent (0..1), by scope, id and kind, from the grains this silo hosts.");
        _meter.CreateObservableGauge("controlplane.slo.burn_rate", () => Read(_burnRates, k => [
            new(Keys.WorkloadClass, k.Class), new(Keys.SloObjective, k.Objective), new(Keys.SloWindow, k.Window)]), "1",
            "Error-budget burn rate of a class's SLO objective over a window (1 = on budget).");
        _meter.CreateObservableGauge("controlplane.slo.error_budget.remaining", () => Read(_budgets, k => [
            new(Keys.WorkloadClass, k.Class), new(Keys.SloObjective, k.Objective)]), "1",
            "Share of the class's error budget left this period (0..1).");
    }

    /// <summary>The state name of the transition's side, overrides included.</summary>
    internal static string StateName(BreakerState state, OverrideKind? activeOverride) => activeOverride switch
    {
        OverrideKind.ForceOpen => "forced_open",
        OverrideKind.ForceClosed => "forced_closed",
        OverrideKind.Drain => "draining",
        _ => AdminNames.Breaker(state),
    };

    /// <summary>The bounded signal name of a breaker event: what tripped it (consecutive_failures, error_rate, latency,
    /// quality, probe_failed), cooldown_elapsed, recovered, or forced, override_cleared, override_expired.</summary>
    internal static string SignalOf(BreakerEvent e) => e.Kind switch
    {
        BreakerEventKind.OverrideSet => "forced",
        BreakerEventKind.OverrideCleared => "override_cleared",
        BreakerEventKind.OverrideExpired => "override_expired",
        _ => e.To switch
        {
            BreakerState.Open => AdminNames.Reason(e.Reason),
            BreakerState.HalfOpen => "cooldown_elapsed",
            _ => "recovered",
        },
    };

    /// <summary>Whether the event is a transition (state change or override change) rather than a degradation note.</summary>
    internal static bool IsTransition(BreakerEvent e) => e.Kind is BreakerEventKind.StateChanged or BreakerEventKind.OverrideSet
        or BreakerEventKind.OverrideCleared or BreakerEventKind.OverrideExpired;

    public void Transition(string endpoint, string from, string to, string signal) =>
        _transitions.Add(1, new KeyValuePair<string, object?>(Keys.Endpoint, endpoint), new KeyValuePair<string, object?>(Keys.BreakerFrom, from),
            new KeyValuePair<string, object?>(Keys.BreakerTo, to), new KeyValuePair<string, object?>(Keys.BreakerSignal, signal));

    public void LeaseGranted(string scope, string id) =>
        _grants.Add(1, new KeyValuePair<string, object?>(Keys.Scope, scope), new KeyValuePair<string, object?>(Keys.ScopeId, id));

    public void LeaseRefused(string scope, string id) =>
        _refusals.Add(1, new KeyValuePair<string, object?>(Keys.Scope, scope), new KeyValuePair<string, object?>(Keys.ScopeId, id));

    /// <summary>Sets a quota's utilization (clamped to 0..1).</summary>
    public void SetUtilization(string scope, string id, string kind, double share) => _utilization[(scope, id, kind)] = Math.Clamp(share, 0, 1);

    /// <summary>Sets a class objective's burn rate over a window.</summary>
    public void SetBurnRate(string workloadClass, string objective, string window, double rate) => _burnRates[(workloadClass, objective, window)] = rate;

    /// <summary>Sets a class objective's remaining error budget (clamped to 0..1).</summary>
    public void SetBudgetRemaining(string workloadClass, string objective, double share) => _budgets[(workloadClass, objective)] = Math.Clamp(share, 0, 1);

    /// <summary>Drops every gauge row of a grain that leaves this silo.</summary>
    public void Forget(string scope, string id)
    {
        foreach (var key in _utilization.Keys)
        {
            if (key.Scope == scope && key.Id == id)
            {
                _utilization.TryRemove(key, out _);
            }
        }

        if (scope != "class")
        {
            return;
        }

        foreach (var key in _burnRates.Keys)
        {
            if (key.Class == id)
            {
                _burnRates.TryRemove(key, out _);
            }
        }

        foreach (var key in _budgets.Keys)
        {
            if (key.Class == id)
            {
                _budgets.TryRemove(key, out _);
            }
        }
    }

    public void Dispose() => _meter.Dispose();

    private static List<Measurement<double>> Read<TKey>(ConcurrentDictionary<TKey, double> values, Func<TKey, KeyValuePair<string, object?>[]> tags)
        where TKey : notnull
    {
        var measurements = new List<Measurement<double>>(values.Count);
        foreach (var (key, value) in values)
        {
            measurements.Add(new Measurement<double>(value, tags(key)));
        }

        return measurements;
    }
}
