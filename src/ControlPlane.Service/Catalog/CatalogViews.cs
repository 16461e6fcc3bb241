using System.Globalization;
using ControlPlane.Fleet;

namespace ControlPlane.Service.Catalog;

/// <summary>One endpoint as the catalog shows it (<c>GET /admin/v1/catalog</c>): who owns it, what it pins, what it
/// costs and allows, which classes depend on it (from the live class policies), its deprecation and model-change status.</summary>
internal sealed record CatalogEntryView(
    string Id,
    string Provider,
    string Model,
    string ModelVersion,
    bool AcceptedAlias,
    string Region,
    string OwnerTeam,
    string OnCall,
    CatalogPriceView Price,
    CatalogLimitsView Limits,
    IReadOnlyList<string> PrimaryOf,
    IReadOnlyList<string> FallbackOf,
    CatalogDeprecationView? Deprecation,
    CatalogModelChangeView? ModelChange,
    string OnModelChange,
    IReadOnlyList<CatalogAlertView> Alerts)
{
    public static CatalogEntryView From(EndpointCatalogEntry entry, ModelChangeRecord? change, ClassUses uses, DateOnly today)
    {
        var d = entry.Descriptor;
        var deprecation = entry.Deprecation is { } dep ? CatalogDeprecationView.From(dep, today) : null;
        var modelChange = change is null ? null : new CatalogModelChangeView(change.Observed, change.FirstSeen, change.Acknowledged)
        {
            Pinned = change.Pinned,
            AcknowledgedBy = change.AcknowledgedBy,
            AcknowledgedAt = change.AcknowledgedAt,
            Drained = change.Drained,
        };
        return new CatalogEntryView(d.Id, d.Provider, d.Model, d.ModelVersion, entry.AcceptedAlias, d.Region, entry.OwnerTeam, entry.OnCall,
            new CatalogPriceView(d.PricePer1kInput, d.PricePer1kOutput), new CatalogLimitsView(d.TokensPerMinute, d.RequestsPerMinute),
            uses.PrimaryOf(d.Id), uses.FallbackOf(d.Id), deprecation, modelChange,
            entry.OnModelChange == ModelChangeAction.Drain ? "drain" : "alert",
            CatalogAlertView.For(entry, deprecation, change));
    }
}

/// <summary>Prices in USD per 1,000 tokens.</summary>
internal sealed record CatalogPriceView(decimal InputPer1k, decimal OutputPer1k);

/// <summary>Provider limits per minute (0: unlimited).</summary>
internal sealed record CatalogLimitsView(long Tpm, long Rpm);

/// <summary>An announced deprecation: the date, the replacement, days left and the notice stage reached
/// (<c>90d</c>, <c>30d</c>, <c>7d</c>, <c>past</c>; null while more than 90 days remain).</summary>
internal sealed record CatalogDeprecationView(DateOnly Date, string? MigrateTo, int DaysLeft, string? Notice)
{
    public static CatalogDeprecationView From(EndpointDeprecation deprecation, DateOnly today)
    {
        var daysLeft = DeprecationStage.DaysLeft(deprecation, today);
        return new CatalogDeprecationView(deprecation.Date, deprecation.MigrateTo, daysLeft, DeprecationStage.Of(daysLeft));
    }
}

/// <summary>A silent model change: the version outcomes reported, since when, and whether an operator acknowledged it.</summary>
internal sealed record CatalogModelChangeView(string Observed, DateTimeOffset Since, bool Acknowledged)
{
    /// <summary>The pinned version when the change was seen.</summary>
    public string Pinned { get; init; } = "";

    /// <summary>Who acknowledged it.</summary>
    public string? AcknowledgedBy { get; init; }

    /// <summary>When it was acknowledged.</summary>
    public DateTimeOffset? AcknowledgedAt { get; init; }

    /// <summary>True when the endpoint drained itself for the change.</summary>
    public bool Drained { get; init; }
}

/// <summary>A firing catalog alert, routed to the endpoint's owner: <c>deprecation</c> (a notice stage reached) or
/// <c>model-change</c> (an unacknowledged silent model change).</summary>
internal sealed record CatalogAlertView(string Kind, string EndpointId, string Severity, string OwnerTeam, string OnCall, string Message, DateTimeOffset? Since)
{
    /// <summary>The alert kind of a deprecation notice.</summary>
    public const string DeprecationKind = "deprecation";

    /// <summary>The alert kind of a silent model change.</summary>
    public const string ModelChangeKind = "model-change";

    /// <summary>The catalog alerts of the whole fleet (for the fleet view), in fleet order.</summary>
    public static IReadOnlyList<CatalogAlertView> ForFleet(FleetCatalog catalog, IEnumerable<Grains.EndpointDetails> endpoints, DateOnly today)
    {
        var alerts = new List<CatalogAlertView>();
        foreach (var details in endpoints)
        {
            if (catalog.Endpoints.TryGetValue(details.Descriptor.Id, out var entry))
            {
                var deprecation = entry.Deprecation is { } d ? CatalogDeprecationView.From(d, today) : null;
                alerts.AddRange(For(entry, deprecation, details.ModelChange));
            }
        }

        return alerts;
    }

    public static IReadOnlyList<CatalogAlertView> For(EndpointCatalogEntry entry, CatalogDeprecationView? deprecation, ModelChangeRecord? change)
    {
        var alerts = new List<CatalogAlertView>(2);
        if (deprecation is { Notice: { } notice })
        {
            var date = deprecation.Date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
            var when = notice == DeprecationStage.Past ? $"was retired on {date}" : $"is retired on {date} ({deprecation.DaysLeft} days left)";
            var migrate = deprecation.MigrateTo is { } target ? $"; migrate to {target}" : "; no migration target chosen";
            alerts.Add(new CatalogAlertView(DeprecationKind, entry.Id, notice is DeprecationStage.Past or DeprecationStage.Days7 ? "page" : "ticket",
                entry.OwnerTeam, entry.OnCall, $"{entry.Descriptor.ModelVersion} {when}{migrate}", null));
        }

        if (change is { Acknowledged: false })
        {
            alerts.Add(new CatalogAlertView(ModelChangeKind, entry.Id, "page", entry.OwnerTeam, entry.OnCall,
                $"provider returned model version {change.Observed}; pinned {change.Pinned}{(change.Drained ? "; drained until acknowledged" : "")}",
                change.FirstSeen));
        }

        return alerts;
    }
}

/// <summary>Which classes use each endpoint as a primary and as an approved fallback, from the live class policies.</summary>
internal sealed class ClassUses
{
    private readonly Dictionary<string, List<string>> _primary = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<string>> _fallback = new(StringComparer.Ordinal);

    public ClassUses(IEnumerable<Domain.Policy.WorkloadClassPolicy> policies)
    {
        foreach (var policy in policies)
        {
            foreach (var id in policy.Primary)
            {
                Add(_primary, id, policy.Name);
            }

            foreach (var fallback in policy.Fallbacks)
            {
                Add(_fallback, fallback.EndpointId, policy.Name);
            }
        }
    }

    public IReadOnlyList<string> PrimaryOf(string endpointId) => _primary.TryGetValue(endpointId, out var list) ? list : [];

    public IReadOnlyList<string> FallbackOf(string endpointId) => _fallback.TryGetValue(endpointId, out var list) ? list : [];

    private static void Add(Dictionary<string, List<string>> map, string endpointId, string className)
    {
        if (!map.TryGetValue(endpointId, out var list))
        {
            map[endpointId] = list = [];
        }

        if (!list.Contains(className, StringComparer.Ordinal))
        {
            list.Add(className);
        }
    }
}
