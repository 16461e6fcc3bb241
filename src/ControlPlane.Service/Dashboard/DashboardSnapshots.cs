using ControlPlane.Service.Admin;
using ControlPlane.Service.Audit;
using Microsoft.Extensions.Options;

namespace ControlPlane.Service.Dashboard;

/// <summary>Builds the dashboard snapshot from the admin views (<see cref="AdminOperations.GetFleetAsync"/> and the
/// audit query) and shares one build among every caller within <see cref="DashboardOptions.SnapshotInterval"/>, so any
/// number of open pages costs one fan-out of grain calls per interval.</summary>
internal sealed class DashboardSnapshots(AdminOperations admin, FleetCatalog catalog, IGrainFactory grains, IOptions<DashboardOptions> options,
    IOptions<ControlPlaneOptions> node, TimeProvider time)
{
    private readonly DashboardOptions _options = options.Value;
    private readonly SemaphoreSlim _building = new(1, 1);
    private DashboardSnapshot? _latest;

    /// <summary>The latest snapshot, rebuilt when older than the snapshot interval.</summary>
    public async Task<DashboardSnapshot> GetAsync(CancellationToken cancellationToken)
    {
        if (Fresh(_latest) is { } fresh)
        {
            return fresh;
        }

        await _building.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (Fresh(_latest) is { } built)
            {
                return built;
            }

            var snapshot = await BuildAsync().ConfigureAwait(false);
            _latest = snapshot;
            return snapshot;
        }
        finally
        {
            _building.Release();
        }
    }

    private DashboardSnapshot? Fresh(DashboardSnapshot? snapshot) =>
        snapshot is not null && time.GetUtcNow() - snapshot.At < _options.SnapshotInterval ? snapshot : null;

    private async Task<DashboardSnapshot> BuildAsync()
    {
        var fleetTask = admin.GetFleetAsync();
        // The firing alerts as their owning grains decided them (the same list as GET /admin/v1/alerts?state=firing).
        var alertsTask = new Alerting.AlertOperations(catalog, grains).ListAsync("firing");
        var audit = _options.AuditEntries == 0 ? null : await admin.QueryAuditAsync(new AuditQuery(_options.AuditEntries)).ConfigureAwait(false);
        var fleet = await fleetTask.ConfigureAwait(false);
        var firing = await alertsTask.ConfigureAwait(false);
        return Compose(fleet, firing.Alerts, audit?.Entries ?? [], node.Value.NodeId, time.GetUtcNow());
    }

    /// <summary>The snapshot of <paramref name="fleet"/>, the <paramref name="firing"/> alerts and <paramref name="audit"/>
    /// (newest first).</summary>
    internal static DashboardSnapshot Compose(FleetView fleet, IReadOnlyList<Alerting.AlertView> firing, IReadOnlyList<Grains.AuditEntry> audit,
        string node, DateTimeOffset at)
    {
        var deprecations = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var alert in fleet.Alerts)
        {
            if (alert.Kind == Catalog.CatalogAlertView.DeprecationKind)
            {
                deprecations.TryAdd(alert.EndpointId, alert.Message);
            }
        }

        var alerts = new List<DashboardAlert>(firing.Count);
        var classAlerts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var alert in firing)
        {
            alerts.Add(new DashboardAlert(alert.Rule, alert.Severity, alert.TargetKind, alert.TargetId, alert.Summary, alert.StartedAt));
            if (alert.TargetKind == "class")
            {
                classAlerts[alert.TargetId] = classAlerts.GetValueOrDefault(alert.TargetId) + 1;
            }
        }

        var classes = new List<DashboardClassCard>(fleet.Classes.Count);
        foreach (var c in fleet.Classes)
        {

            var successes = c.Availability.Events - c.Availability.BadEvents;
            double? costPerSuccess = c.Spend is { } spend && successes > 0 ? (double)spend.MonthSpentUsd / successes : null;
            classes.Add(new DashboardClassCard(c.Name, c.Mode, c.Priority, DashboardSlo.From(c.Availability), DashboardSlo.From(c.Quality),
                c.Latency is { } latency ? DashboardSlo.From(latency) : null, c.FallbackRate5m, c.ServedByFallback, costPerSuccess,
                classAlerts.GetValueOrDefault(c.Name), c.BreakGlass is not null));
        }

        var endpoints = new List<DashboardEndpointRow>(fleet.Endpoints.Count);
        foreach (var e in fleet.Endpoints)
        {
            endpoints.Add(new DashboardEndpointRow(e.Id, e.Provider, e.Model, e.Region, State(e), e.Breaker.Reason, e.Breaker.AutomaticState,
                e.Override, e.Breaker.Degraded, e.Health.Requests, e.Health.ErrorRate, e.Health.RateLimited, e.Health.LatencyP95Ms,
                e.Baseline?.LatencyP95Ms, e.Baseline?.TtftP95Ms, Use(e.Quota.TokensPerMinute, e.Quota.AvailableTokens),
                Use(e.Quota.RequestsPerMinute, e.Quota.AvailableRequests), deprecations.GetValueOrDefault(e.Id)));
        }

        var feed = new List<DashboardAuditEntry>(audit.Count);
        foreach (var entry in audit)
        {
            feed.Add(new DashboardAuditEntry(entry.Sequence, entry.At, entry.Actor.Principal, entry.Action, entry.Target, entry.Reason));
        }

        return new DashboardSnapshot(at, node, fleet.Name, fleet.Version, endpoints, classes, alerts, feed);
    }

    // The breaker state as the telemetry names it (controlplane.breaker.state): an active override names the state.
    private static string State(EndpointView e) => e.Override?.Kind switch
    {
        "force_open" => "forced_open",
        "force_closed" => "forced_closed",
        "drain" => "draining",
        _ => e.Breaker.State,
    };

    // The share of a per-minute limit not available right now (0..1); null when unlimited.
    private static double? Use(long limit, long? available) =>
        limit <= 0 || available is not { } left ? null : Math.Clamp(1 - ((double)left / limit), 0, 1);
}
