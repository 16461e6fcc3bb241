using System.Collections.Immutable;

namespace ControlPlane.Fleet;

/// <summary>
/// The fleet's <c>regions:</c>: the regional clusters that federate, each endpoint's home region among them, and the
/// one region authoritative for class policy. <see cref="None"/> (no <c>regions:</c>) means single-region: federation off.
/// </summary>
public sealed class FleetRegions
{
    /// <summary>No <c>regions:</c> in the fleet file: one region, federation off.</summary>
    public static readonly FleetRegions None = new([]);

    internal FleetRegions(ImmutableArray<RegionDefinition> regions)
    {
        All = regions;
        PolicyHome = regions.FirstOrDefault(r => r.PolicyHome)?.Name ?? (regions.IsEmpty ? null : regions[0].Name);
    }

    /// <summary>Every region, in file order.</summary>
    public ImmutableArray<RegionDefinition> All { get; }

    /// <summary>True when the fleet lists regions (federation may be on).</summary>
    public bool IsFederated => !All.IsEmpty;

    /// <summary>The region authoritative for class policy and class-level changes (<c>policy_home: true</c>, else the
    /// first listed); null when the fleet lists no regions.</summary>
    public string? PolicyHome { get; }

    /// <summary>Looks a region up by name.</summary>
    public RegionDefinition? Find(string name) => All.FirstOrDefault(r => string.Equals(r.Name, name, StringComparison.Ordinal));
}

/// <summary>One region of a federated fleet.</summary>
public sealed record RegionDefinition
{
    /// <summary>The region's name (the value endpoints give as <c>region</c>).</summary>
    public required string Name { get; init; }

    /// <summary>Where peers reach this region's Federation service (<c>federation_url</c>); null when not given
    /// (a node's <c>--federation-peer</c> then must name it).</summary>
    public Uri? FederationUrl { get; init; }

    /// <summary>True for the one region authoritative for class policy (<c>policy_home: true</c>, or the first listed
    /// when no region says so).</summary>
    public bool PolicyHome { get; init; }

    /// <summary>The share of a remote-homed endpoint's limit this region may use once its region lease expired
    /// unrenewed (<c>partition_share</c>, in (0, 1]); null when not given (see <see cref="EffectivePartitionShare"/>).</summary>
    public double? PartitionShare { get; init; }

    /// <summary><see cref="PartitionShare"/>, or the default 1/(2 × <paramref name="regionCount"/>).</summary>
    public double EffectivePartitionShare(int regionCount) => PartitionShare ?? 1.0 / (2 * Math.Max(1, regionCount));
}
