using System.Collections.Frozen;
using System.Collections.Immutable;
using ControlPlane.Domain.Endpoints;
using ControlPlane.Domain.Policy;

namespace ControlPlane.Fleet;

/// <summary>
/// A fully validated fleet: the endpoint catalog and the workload classes routed over it. Only
/// <see cref="FleetLoader"/> creates one, and only when the whole file is valid, so holding one means every
/// reference resolves and every policy passes <see cref="PolicyValidator"/>.
/// </summary>
public sealed class FleetDefinition
{
    private readonly FrozenDictionary<string, EndpointCatalogEntry> _endpointsById;
    private readonly FrozenDictionary<string, WorkloadClassDefinition> _classesByName;

    internal FleetDefinition(
        string sourceName,
        string? name,
        string? version,
        ImmutableArray<EndpointCatalogEntry> endpoints,
        ImmutableArray<WorkloadClassDefinition> classes)
    {
        SourceName = sourceName;
        Name = name;
        Version = version;
        Endpoints = endpoints;
        Classes = classes;
        _endpointsById = endpoints.ToFrozenDictionary(e => e.Id, StringComparer.Ordinal);
        _classesByName = classes.ToFrozenDictionary(c => c.Name, StringComparer.Ordinal);
        Catalog = endpoints.ToFrozenDictionary(e => e.Id, e => e.Descriptor, StringComparer.Ordinal);
        Descriptors = [.. endpoints.Select(e => e.Descriptor)];
        Policies = [.. classes.Select(c => c.Policy)];
    }

    /// <summary>The file the fleet was loaded from (or the source name given to the loader).</summary>
    public string SourceName { get; }

    /// <summary>The fleet's name (<c>fleet.name</c>), if the file gives one.</summary>
    public string? Name { get; }

    /// <summary>The configuration's version (<c>fleet.version</c>), if the file gives one; free-form.</summary>
    public string? Version { get; }

    /// <summary>Every endpoint, in file order.</summary>
    public ImmutableArray<EndpointCatalogEntry> Endpoints { get; }

    /// <summary>Every workload class, in file order.</summary>
    public ImmutableArray<WorkloadClassDefinition> Classes { get; }

    /// <summary>The endpoint descriptors by id, the shape <see cref="PolicyValidator.Validate"/> takes.</summary>
    public IReadOnlyDictionary<string, EndpointDescriptor> Catalog { get; }

    /// <summary>The endpoint descriptors in file order, the shape a routing snapshot is built from.</summary>
    public ImmutableArray<EndpointDescriptor> Descriptors { get; }

    /// <summary>The class policies in file order, the shape a routing snapshot is built from.</summary>
    public ImmutableArray<WorkloadClassPolicy> Policies { get; }

    /// <summary>Where alerts are delivered: the <c>teams:</c> with their receivers and the runbook base
    /// (<c>alerting.runbook_base_url</c>); <see cref="AlertingDefinition.Empty"/> when the file gives neither.</summary>
    public AlertingDefinition Alerting { get; internal init; } = AlertingDefinition.Empty;

    /// <summary>The fleet's <c>regions:</c> (federation between regional clusters); <see cref="FleetRegions.None"/> when
    /// the file lists none (single-region, federation off).</summary>
    public FleetRegions Regions { get; internal init; } = FleetRegions.None;

    /// <summary>Looks an endpoint up by id.</summary>
    public bool TryGetEndpoint(string id, [System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out EndpointCatalogEntry entry) =>
        _endpointsById.TryGetValue(id, out entry);

    /// <summary>Looks a workload class up by name.</summary>
    public bool TryGetClass(string name, [System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out WorkloadClassDefinition workloadClass) =>
        _classesByName.TryGetValue(name, out workloadClass);
}

/// <summary>An endpoint as the catalog knows it: the routing descriptor plus who owns it and when it goes away.</summary>
public sealed record EndpointCatalogEntry
{
    /// <summary>What routing needs: provider, pinned model version, region, limits, prices, capabilities.</summary>
    public required EndpointDescriptor Descriptor { get; init; }

    /// <summary>The endpoint id (<see cref="EndpointDescriptor.Id"/>).</summary>
    public string Id => Descriptor.Id;

    /// <summary>The team that owns the endpoint (contract, keys, capacity).</summary>
    public required string OwnerTeam { get; init; }

    /// <summary>Where to page about the endpoint: a rotation, a channel or an address.</summary>
    public required string OnCall { get; init; }

    /// <summary>When the pinned model version is retired and what replaces it; null when no date is announced.</summary>
    public EndpointDeprecation? Deprecation { get; init; }

    /// <summary>What the endpoint's rolling baselines start from (<c>baseline</c> in the fleet file: p95 latency, quality
    /// pass rate) until its own traffic teaches them; null when not given.</summary>
    public Domain.Baselines.BaselineValues? Baseline { get; init; }

    /// <summary>True when <c>model_version</c> is an alias the owner accepts (<c>accepted_alias: true</c>): the loader
    /// refuses aliases such as <c>latest</c> otherwise.</summary>
    public bool AcceptedAlias { get; init; }

    /// <summary>What the endpoint does when outcomes report another model version than the pinned one
    /// (<c>on_model_change</c>; <see cref="ModelChangeAction.Alert"/> when not given).</summary>
    public ModelChangeAction OnModelChange { get; init; }

    /// <summary>The endpoint's alert thresholds: its own <c>alerts:</c> over the fleet's <c>alerting.thresholds</c> over
    /// the seeds' defaults (see <c>docs/alerts.md</c>).</summary>
    public AlertThresholds Alerts { get; init; } = AlertThresholds.Defaults;

    /// <summary>The endpoint's own <c>alerts:</c> as given (null members: not given), so class overrides can apply
    /// where the endpoint sets nothing.</summary>
    public AlertThresholds AlertOverrides { get; init; } = new();

    /// <summary>True when the endpoint's deprecation date is on or before <paramref name="day"/>.</summary>
    public bool IsDeprecatedOn(DateOnly day) => Deprecation is { } deprecation && deprecation.Date <= day;
}

/// <summary>An announced retirement of an endpoint's pinned model version.</summary>
public sealed record EndpointDeprecation
{
    /// <summary>The day the provider retires the version.</summary>
    public required DateOnly Date { get; init; }

    /// <summary>The id of the endpoint that replaces it (always in the same fleet); null when none is chosen yet.</summary>
    public string? MigrateTo { get; init; }
}

/// <summary>A workload class: its routing policy (the fallback approval matrix) plus its SLO and owner.</summary>
public sealed record WorkloadClassDefinition
{
    /// <summary>The routing policy, validated against the fleet's catalog.</summary>
    public required WorkloadClassPolicy Policy { get; init; }

    /// <summary>The class name (<see cref="WorkloadClassPolicy.Name"/>).</summary>
    public string Name => Policy.Name;

    /// <summary>The team that owns the class and approves its fallbacks.</summary>
    public required string Owner { get; init; }

    /// <summary>What the class is for, for people reading dashboards; empty when not given.</summary>
    public string Description { get; init; } = "";

    /// <summary>The class's service-level objectives.</summary>
    public required SloTargets Slo { get; init; }

    /// <summary>The class's cluster-wide retry budget (<see cref="RetryBudgetTargets.Default"/> when the file gives none).</summary>
    public RetryBudgetTargets RetryBudget { get; init; } = RetryBudgetTargets.Default;

    /// <summary>How the class holds requests while its primary is unavailable (<c>queue_only</c> classes only).</summary>
    public ClassQueueLimits Queue { get; init; } = ClassQueueLimits.Default;

    /// <summary>A regulated class (<c>regulated: true</c>): a change to its policy needs a <c>compliance-approver</c>'s
    /// approval besides the <c>policy-approver</c>'s. Defaults to false.</summary>
    public bool Regulated { get; init; }

    /// <summary>A production class (<c>production: true|false</c>; defaults to true): the endpoints it uses page on their
    /// error rate (<c>provider-error-rate</c>).</summary>
    public bool Production { get; init; } = true;

    /// <summary>The class's alert thresholds: its own <c>alerts:</c> over the fleet's <c>alerting.thresholds</c> over
    /// the seeds' defaults.</summary>
    public AlertThresholds Alerts { get; init; } = AlertThresholds.Defaults;
}

/// <summary>Service-level objectives of a workload class; the error budget is <c>1 - Availability</c> over <see cref="Window"/>.</summary>
public sealed record SloTargets
{
    /// <summary>Default error-budget window.</summary>
    public static readonly TimeSpan DefaultWindow = TimeSpan.FromDays(30);

    /// <summary>Fraction of requests that must succeed.</summary>
    /// <value>Strictly between 0 and 1, e.g. 0.995.</value>
    public required double Availability { get; init; }

    /// <summary>Fraction of answers that must pass the quality check; null for no quality objective.</summary>
    /// <value>Strictly between 0 and 1 when set.</value>
    public double? Quality { get; init; }

    /// <summary>The 95th-percentile latency objective; null for no latency objective.</summary>
    public TimeSpan? LatencyP95 { get; init; }

    /// <summary>The rolling window the error budget is measured over.</summary>
    /// <value>Between 1 and 366 days. Defaults to 30 days.</value>
    public TimeSpan Window { get; init; } = DefaultWindow;

    /// <summary>The fraction of requests allowed to fail over <see cref="Window"/>.</summary>
    public double ErrorBudget => 1 - Availability;
}
