using System.Globalization;
using System.Text.Json;
using ControlPlane.Fleet;

namespace ControlPlane.Service.FleetReload;

/// <summary>What a fleet reload changes, and what it must refuse. A reload applies changes to existing endpoints'
/// attributes (limits, prices, owner, on-call, deprecation, baseline, context window, capabilities, model) and
/// to the fleet's name and version, and alert thresholds (a class's <c>production</c> and <c>alerts</c>, an endpoint's
/// <c>alerts</c>, <c>alerting.thresholds</c> through them). It refuses a change to a class's fallback policy (that is a two-person change:
/// proposals), whether a class is regulated, an endpoint's region or provider, removing an endpoint a class still
/// references, and changes the running nodes cannot take in place
/// (adding, removing or reordering endpoints or classes; a class's SLO, retry budget or queue limits).</summary>
internal static class FleetDiff
{
    /// <summary>Compares the fleet in force with the reloaded one.</summary>
    public static FleetDiffResult Compare(FleetDefinition before, FleetDefinition after)
    {
        ArgumentNullException.ThrowIfNull(before);
        ArgumentNullException.ThrowIfNull(after);
        var changes = new List<string>();
        var refusals = new List<FleetReloadProblem>();
        var changedEndpoints = new List<string>();
        Note(changes, "fleet.name", before.Name, after.Name);
        Note(changes, "fleet.version", before.Version, after.Version);

        foreach (var old in before.Endpoints)
        {
            if (!after.TryGetEndpoint(old.Id, out var next))
            {
                var users = before.Classes.Where(c => References(c, old.Id)).Select(c => c.Name).ToList();
                refusals.Add(users.Count > 0
                    ? new FleetReloadProblem($"endpoints.{old.Id}",
                        $"is removed but still referenced by the policy of class {string.Join(", ", users)}; change those policies through proposals first (POST /admin/v1/classes/{{name}}/proposals)")
                    : new FleetReloadProblem($"endpoints.{old.Id}",
                        "is removed: removing endpoints is not applied by a reload (running nodes index endpoints by position); restart the cluster with the new file"));
                continue;
            }

            // A class's policy approves endpoints by what they are and where they run (residency conditions name
            // regions): moving an endpoint to another region or provider would change what was approved by one admin.
            if (old.Descriptor.Region != next.Descriptor.Region || old.Descriptor.Provider != next.Descriptor.Provider)
            {
                refusals.Add(new FleetReloadProblem($"endpoints.{old.Id}",
                    "changes the endpoint's region or provider, which class policies approved: add a new endpoint and move classes to it through proposals"));
            }

            var before0 = changes.Count;
            CompareEndpoint(changes, old, next);
            if (changes.Count > before0)
            {
                changedEndpoints.Add(old.Id);
            }
        }

        foreach (var added in after.Endpoints.Where(e => !before.TryGetEndpoint(e.Id, out _)))
        {
            refusals.Add(new FleetReloadProblem($"endpoints.{added.Id}",
                "is new: adding endpoints is not applied by a reload yet (running nodes index endpoints by position); restart the cluster with the new file"));
        }

        foreach (var old in before.Classes)
        {
            if (!after.TryGetClass(old.Name, out var next))
            {
                refusals.Add(new FleetReloadProblem($"classes.{old.Name}",
                    "is removed: removing workload classes is not applied by a reload; restart the cluster with the new file"));
                continue;
            }

            if (Json(old.Policy) != Json(next.Policy))
            {
                refusals.Add(new FleetReloadProblem($"classes.{old.Name}",
                    $"changes the class's fallback policy: policy changes go through proposals: POST /admin/v1/classes/{old.Name}/proposals"));
            }

            // Whether a class is regulated decides how many people approve its policy changes: not one admin's reload.
            if (old.Regulated != next.Regulated)
            {
                refusals.Add(new FleetReloadProblem($"classes.{old.Name}.regulated",
                    "changes whether the class is regulated (who must approve its policy changes); a reload cannot change it, restart the cluster with the new file"));
            }

            if (old.Slo != next.Slo || old.RetryBudget != next.RetryBudget || old.Queue != next.Queue)
            {
                refusals.Add(new FleetReloadProblem($"classes.{old.Name}",
                    "changes slo, retry_budget or queue: these are not applied by a reload yet; restart the cluster with the new file"));
            }

            Note(changes, $"classes.{old.Name}.owner", old.Owner, next.Owner);
            Note(changes, $"classes.{old.Name}.description", old.Description, next.Description);
            Note(changes, $"classes.{old.Name}.production", old.Production ? "true" : "false", next.Production ? "true" : "false");
            Note(changes, $"classes.{old.Name}.alerts", Alerting.AlertThresholdsText.Describe(old.Alerts), Alerting.AlertThresholdsText.Describe(next.Alerts));
        }

        foreach (var added in after.Classes.Where(c => !before.TryGetClass(c.Name, out _)))
        {
            refusals.Add(new FleetReloadProblem($"classes.{added.Name}",
                "is new: adding workload classes is not applied by a reload yet; restart the cluster with the new file"));
        }

        Alerting.Delivery.AlertingDiff.Compare(changes, before.Alerting, after.Alerting);
        if (refusals.Count == 0 && !SameShape(before, after))
        {
            refusals.Add(new FleetReloadProblem("endpoints",
                "lists the endpoints or classes in another order: running nodes index them by position; keep the order of the file in force"));
        }

        return new FleetDiffResult(changes, refusals, changedEndpoints);
    }

    /// <summary>True when both fleets list the same endpoint ids and class names in the same order.</summary>
    public static bool SameShape(FleetDefinition a, FleetDefinition b) =>
        a.Endpoints.Select(e => e.Id).SequenceEqual(b.Endpoints.Select(e => e.Id), StringComparer.Ordinal)
        && a.Classes.Select(c => c.Name).SequenceEqual(b.Classes.Select(c => c.Name), StringComparer.Ordinal);

    private static void CompareEndpoint(List<string> changes, EndpointCatalogEntry old, EndpointCatalogEntry next)
    {
        var p = $"endpoints.{old.Id}";
        var (a, b) = (old.Descriptor, next.Descriptor);
        Note(changes, p + ".provider", a.Provider, b.Provider);
        Note(changes, p + ".model", a.Model, b.Model);
        Note(changes, p + ".model_version", a.ModelVersion, b.ModelVersion);
        Note(changes, p + ".region", a.Region, b.Region);
        Note(changes, p + ".context_window", Num(a.ContextWindow), Num(b.ContextWindow));
        Note(changes, p + ".capabilities", a.Capabilities.ToString(), b.Capabilities.ToString());
        Note(changes, p + ".price_per_1k.input", Num(a.PricePer1kInput), Num(b.PricePer1kInput));
        Note(changes, p + ".price_per_1k.output", Num(a.PricePer1kOutput), Num(b.PricePer1kOutput));
        Note(changes, p + ".limits.tpm", Num(a.TokensPerMinute), Num(b.TokensPerMinute));
        Note(changes, p + ".limits.rpm", Num(a.RequestsPerMinute), Num(b.RequestsPerMinute));
        Note(changes, p + ".owner_team", old.OwnerTeam, next.OwnerTeam);
        Note(changes, p + ".on_call", old.OnCall, next.OnCall);
        Note(changes, p + ".deprecation", Deprecation(old.Deprecation), Deprecation(next.Deprecation));
        Note(changes, p + ".baseline", old.Baseline?.ToString(), next.Baseline?.ToString());
        Note(changes, p + ".alerts", Alerting.AlertThresholdsText.Describe(old.Alerts), Alerting.AlertThresholdsText.Describe(next.Alerts));
        Note(changes, p + ".recovery_gate", Gate(old.RecoveryGate), Gate(next.RecoveryGate));
    }

    private static string Gate(RecoveryGateSettings? gate) => gate is null ? "off" : string.Create(CultureInfo.InvariantCulture,
        $"min_probes {gate.MinProbes}, pass_rate {gate.PassRate}, release_without_probes_seconds {gate.ReleaseWithoutProbesAfter.TotalSeconds}");

    private static bool References(WorkloadClassDefinition c, string endpointId) =>
        c.Policy.Primary.Contains(endpointId, StringComparer.Ordinal)
        || c.Policy.Fallbacks.Any(f => string.Equals(f.EndpointId, endpointId, StringComparison.Ordinal))
        || c.Policy.Prohibited.Contains(endpointId, StringComparer.Ordinal);

    private static void Note(List<string> changes, string field, string? before, string? after)
    {
        if (!string.Equals(before, after, StringComparison.Ordinal))
        {
            changes.Add($"{field}: {before ?? "(none)"} -> {after ?? "(none)"}");
        }
    }

    private static string Num(long value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Num(decimal value) => value.ToString(CultureInfo.InvariantCulture);

    private static string? Deprecation(EndpointDeprecation? d) => d is null ? null
        : d.Date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) + (d.MigrateTo is { } m ? " migrate_to " + m : "");

    private static string Json<T>(T value) => JsonSerializer.Serialize(value, ControlPlaneServiceCollectionExtensions.WireJson);
}

/// <summary>The outcome of <see cref="FleetDiff.Compare"/>: the changes (human-readable, <c>field: before -> after</c>),
/// the refusals (a reload with any is refused whole), and the endpoints whose attributes changed.</summary>
internal sealed record FleetDiffResult(IReadOnlyList<string> Changes, IReadOnlyList<FleetReloadProblem> Refusals, IReadOnlyList<string> ChangedEndpoints);
