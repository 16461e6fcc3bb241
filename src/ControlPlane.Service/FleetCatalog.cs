using System.Collections.Frozen;
using ControlPlane.Fleet;
using ControlPlane.Service.FleetReload;

namespace ControlPlane.Service;

/// <summary>The fleet this process runs, with its ordering: the node's snapshot indices follow the file order. The
/// fleet is one immutable <see cref="FleetCatalogSnapshot"/> replaced atomically when the cluster reloads its fleet
/// file (<see cref="TryAdopt"/>); generation 0 is the file this process started with, before any reload.</summary>
internal sealed class FleetCatalog
{
    private readonly Lock _adoptLock = new();
    private FleetCatalogSnapshot _current;
    private Action<FleetCatalogSnapshot>? _changed;

    public FleetCatalog(FleetDefinition fleet)
    {
        ArgumentNullException.ThrowIfNull(fleet);
        _current = new FleetCatalogSnapshot(fleet, 0);
        StartFleet = fleet;
    }

    /// <summary>The current snapshot: read it once when several of its parts must agree.</summary>
    public FleetCatalogSnapshot Current => Volatile.Read(ref _current);

    /// <summary>The fleet as loaded from this process's own file at start.</summary>
    public FleetDefinition StartFleet { get; }

    /// <summary>The current fleet definition.</summary>
    public FleetDefinition Fleet => Current.Fleet;

    /// <summary>The current endpoints by id.</summary>
    public FrozenDictionary<string, EndpointCatalogEntry> Endpoints => Current.Endpoints;

    /// <summary>The current classes by name.</summary>
    public FrozenDictionary<string, WorkloadClassDefinition> Classes => Current.Classes;

    /// <summary>The fleet generation this process runs (0: its own file, no reload adopted yet).</summary>
    public long Generation => Current.Generation;

    /// <summary>Registers a callback run after every adopted generation (on the adopting thread, in order).</summary>
    public void OnChanged(Action<FleetCatalogSnapshot> handler)
    {
        lock (_adoptLock)
        {
            _changed += handler;
        }
    }

    /// <summary>Replaces the fleet by <paramref name="fleet"/> as generation <paramref name="generation"/> when that is
    /// newer than the current one and has exactly the current endpoints and classes in the same order (what a reload
    /// may change: see <see cref="FleetDiff"/>). Returns <see cref="FleetAdoption.Adopted"/>, <see cref="FleetAdoption.NotNewer"/>,
    /// or <see cref="FleetAdoption.Incompatible"/> (nothing changed: the process must restart with the cluster's file).</summary>
    public FleetAdoption TryAdopt(FleetDefinition fleet, long generation)
    {
        ArgumentNullException.ThrowIfNull(fleet);
        FleetCatalogSnapshot next;
        lock (_adoptLock)
        {
            var current = _current;
            if (generation <= current.Generation)
            {
                return FleetAdoption.NotNewer;
            }

            if (!FleetDiff.SameShape(current.Fleet, fleet))
            {
                return FleetAdoption.Incompatible;
            }

            next = new FleetCatalogSnapshot(fleet, generation);
            Volatile.Write(ref _current, next);
            _changed?.Invoke(next);
        }

        return FleetAdoption.Adopted;
    }
}

/// <summary>One fleet generation as this process holds it.</summary>
internal sealed class FleetCatalogSnapshot
{
    public FleetCatalogSnapshot(FleetDefinition fleet, long generation)
    {
        Fleet = fleet;
        Generation = generation;
        Endpoints = fleet.Endpoints.ToFrozenDictionary(e => e.Id, StringComparer.Ordinal);
        Classes = fleet.Classes.ToFrozenDictionary(c => c.Name, StringComparer.Ordinal);
    }

    public FleetDefinition Fleet { get; }

    public long Generation { get; }

    public FrozenDictionary<string, EndpointCatalogEntry> Endpoints { get; }

    public FrozenDictionary<string, WorkloadClassDefinition> Classes { get; }
}

/// <summary>What <see cref="FleetCatalog.TryAdopt"/> did.</summary>
internal enum FleetAdoption
{
    /// <summary>The generation is now current.</summary>
    Adopted,

    /// <summary>The process already runs this generation or a newer one.</summary>
    NotNewer,

    /// <summary>The generation lists other endpoints or classes (or another order) than the process runs: not adopted.</summary>
    Incompatible,
}
