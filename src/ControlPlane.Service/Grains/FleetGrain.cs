namespace ControlPlane.Service.Grains;

/// <summary>Persisted catalog summary.</summary>
[GenerateSerializer, Alias("cp.FleetGrainState")]
public sealed class FleetGrainState
{
    /// <summary>The catalog as last loaded; null before the first activation.</summary>
    [Id(0)]
    public FleetSummary? Summary { get; set; }

    /// <summary>The last deprecation notice raised per endpoint id (so a restart does not raise a stage again).</summary>
    [Id(1)]
    public Dictionary<string, Catalog.DeprecationNotice> Notices { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>The fleet catalog grain: records which fleet configuration (name, version, endpoints, classes) the
/// cluster runs, and surfaces deprecations that are due or near (the loader is pure; this grain has a clock).</summary>
[GrainType("fleet")]
internal sealed partial class FleetGrain(
    [PersistentState("fleet", GrainStorage.Name)] IPersistentState<FleetGrainState> state, FleetCatalog catalog, TimeProvider time,
    Microsoft.Extensions.Logging.ILogger<FleetGrain> logger)
    : Grain, IFleetGrain
{
    /// <summary>The one fleet grain's key.</summary>
    public const string Key = "fleet";

    private static readonly TimeSpan DeprecationNotice = TimeSpan.FromDays(90);

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var fleet = catalog.Fleet;
        var endpoints = fleet.Endpoints.Select(e => e.Id).ToList();
        var classes = fleet.Classes.Select(c => c.Name).ToList();
        var stored = state.State.Summary;
        if (stored is null || stored.Version != fleet.Version || stored.Source != fleet.SourceName
            || !stored.EndpointIds.SequenceEqual(endpoints) || !stored.ClassNames.SequenceEqual(classes))
        {
            state.State.Summary = new FleetSummary(fleet.Name, fleet.Version, fleet.SourceName, endpoints, classes, time.GetUtcNow(), []);
            await state.WriteStateAsync(cancellationToken);
        }
    }

    public Task<FleetSummary> GetSummaryAsync()
    {
        var now = time.GetUtcNow();
        var today = DateOnly.FromDateTime(now.UtcDateTime);
        var notice = DateOnly.FromDateTime((now + DeprecationNotice).UtcDateTime);
        var deprecations = catalog.Fleet.Endpoints
            .Where(e => e.Deprecation is { } d && d.Date <= notice)
            .Select(e => e.Deprecation!.Date <= today
                ? $"{e.Id}: deprecated since {e.Deprecation.Date:yyyy-MM-dd}{MigrateHint(e.Deprecation.MigrateTo)}"
                : $"{e.Id}: deprecated in {e.Deprecation.Date.DayNumber - today.DayNumber} days ({e.Deprecation.Date:yyyy-MM-dd}){MigrateHint(e.Deprecation.MigrateTo)}")
            .ToList();
        var summary = state.State.Summary! with { Deprecations = deprecations };
        // After a fleet reload (generation > 0) the reloaded fleet's name, version and file are the ones in force.
        var current = catalog.Current;
        return Task.FromResult(current.Generation == 0 ? summary
            : summary with { Name = current.Fleet.Name, Version = current.Fleet.Version, Source = current.Fleet.SourceName });
    }

    private static string MigrateHint(string? target) => target is null ? "" : $"; migrate to {target}";
}
