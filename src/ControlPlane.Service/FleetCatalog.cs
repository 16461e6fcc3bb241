using System.Collections.Frozen;
using ControlPlane.Fleet;

namespace ControlPlane.Service;

/// <summary>The loaded fleet definition with its ordering: the node's snapshot indices follow the file order.</summary>
internal sealed class FleetCatalog
{
    public FleetCatalog(FleetDefinition fleet)
    {
        ArgumentNullException.ThrowIfNull(fleet);
        Fleet = fleet;
        Endpoints = fleet.Endpoints.ToFrozenDictionary(e => e.Id, StringComparer.Ordinal);
        Classes = fleet.Classes.ToFrozenDictionary(c => c.Name, StringComparer.Ordinal);
    }

    public FleetDefinition Fleet { get; }

    public FrozenDictionary<string, EndpointCatalogEntry> Endpoints { get; }

    public FrozenDictionary<string, WorkloadClassDefinition> Classes { get; }
}
