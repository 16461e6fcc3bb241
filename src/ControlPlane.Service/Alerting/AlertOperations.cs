using ControlPlane.Service.Admin;

namespace ControlPlane.Service.Alerting;

/// <summary><c>GET /admin/v1/alerts?state=active|pending|firing|resolved|all</c>: the alerts of every endpoint and
/// class grain (each alert lives in exactly one of them), firing first, then by severity and key.</summary>
internal sealed class AlertOperations(FleetCatalog catalog, IGrainFactory grains)
{
    /// <summary>The states accepted by <c>state</c>.</summary>
    public static readonly IReadOnlyList<string> Filters = ["active", "pending", "firing", "resolved", "all"];

    /// <summary>The alerts in <paramref name="state"/> (default active: pending and firing); 400 naming <c>state</c>
    /// for anything else.</summary>
    public async Task<AlertList> ListAsync(string? state)
    {
        Func<AlertNotice, bool> filter = (state ?? "active") switch
        {
            "active" => n => n.State != AlertState.Resolved,
            "pending" => n => n.State == AlertState.Pending,
            "firing" => n => n.State == AlertState.Firing,
            "resolved" => n => n.State == AlertState.Resolved,
            "all" => _ => true,
            _ => throw new AdminException(AdminErrorKind.Invalid, "state", $"must be one of {string.Join(", ", Filters)}"),
        };
        var fleet = catalog.Fleet;
        var endpoints = fleet.Endpoints.Select(e => grains.GetGrain<IEndpointAlertsGrain>(e.Id).GetAlertsAsync());
        var classes = fleet.Classes.Select(c => grains.GetGrain<IClassAlertsGrain>(c.Name).GetAlertsAsync());
        var all = await Task.WhenAll(endpoints.Concat(classes));
        return new AlertList([.. all.SelectMany(a => a).Where(filter)
            .OrderBy(n => n.State == AlertState.Firing ? 0 : n.State == AlertState.Pending ? 1 : 2)
            .ThenByDescending(n => n.Severity)
            .ThenBy(n => n.Key, StringComparer.Ordinal)
            .Select(AlertView.From)]);
    }
}

/// <summary>The body of <c>GET /admin/v1/alerts</c>.</summary>
/// <param name="Alerts">The alerts.</param>
internal sealed record AlertList(IReadOnlyList<AlertView> Alerts);

/// <summary>An <see cref="AlertNotice"/> on the wire: camelCase, enums as lowercase names.</summary>
internal sealed record AlertView(string Key, string Rule, string Kind, string Severity, string State, string TargetKind, string TargetId,
    IReadOnlyList<string> WorkloadClasses, string OwnerTeam, string OnCall, string Runbook, string Summary, double Value, double Threshold,
    TimeSpan Window, DateTimeOffset StartedAt, DateTimeOffset ChangedAt, long Sequence)
{
    /// <summary>The view of <paramref name="n"/>.</summary>
    public static AlertView From(AlertNotice n) => new(n.Key, n.Rule, AlertWire.Name(n.Kind), AlertWire.Name(n.Severity), AlertWire.Name(n.State),
        AlertWire.Name(n.TargetKind), n.TargetId, n.WorkloadClasses, n.OwnerTeam, n.OnCall, n.Runbook, n.Summary, n.Value, n.Threshold, n.Window,
        n.StartedAt, n.ChangedAt, n.Sequence);
}

/// <summary>The wire names of the alert enums (also the metric attribute values).</summary>
internal static class AlertWire
{
    public static string Name(AlertState state) => state switch
    {
        AlertState.Pending => "pending",
        AlertState.Firing => "firing",
        _ => "resolved",
    };

    public static string Name(AlertKind kind) => kind == AlertKind.Tactical ? "tactical" : "strategic";

    public static string Name(Domain.Slo.AlertSeverity severity) => severity switch
    {
        Domain.Slo.AlertSeverity.Ticket => "ticket",
        Domain.Slo.AlertSeverity.Page => "page",
        _ => "critical",
    };

    public static string Name(AlertTargetKind kind) => kind == AlertTargetKind.Endpoint ? "endpoint" : "class";
}
