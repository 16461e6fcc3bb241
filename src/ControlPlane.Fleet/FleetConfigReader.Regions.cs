using System.Collections.Immutable;
using ControlPlane.Fleet.Yaml;

namespace ControlPlane.Fleet;

/// <summary>The top-level <c>regions:</c> list (federation between regional clusters, <c>docs/regions.md</c>).</summary>
internal sealed partial class FleetConfigReader
{
    /// <summary>Most regions a fleet may list.</summary>
    internal const int MaxRegions = 32;

    private static readonly string[] RegionKeys = ["name", "federation_url", "policy_home", "partition_share"];

    private FleetRegions ReadRegions(MappingReader top)
    {
        if (top.Optional("regions") is not { } node || ScalarValues.TryList(node, top.Child("regions"), _errors) is not { } items)
        {
            return FleetRegions.None;
        }

        if (items.Count == 0)
        {
            _errors.Add(node, top.Child("regions"), "at least one region is required when 'regions' is given");
            return FleetRegions.None;
        }

        if (items.Count > MaxRegions)
        {
            _errors.Add(node, top.Child("regions"), $"at most {MaxRegions} regions, got {items.Count}");
            return FleetRegions.None;
        }

        var regions = ImmutableArray.CreateBuilder<RegionDefinition>(items.Count);
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        ConfigNode? firstHome = null;
        for (int i = 0; i < items.Count; i++)
        {
            string path = NamedPath(items[i], "regions", i, "name");
            if (MappingReader.Create(items[i], path, _errors, RegionKeys) is not { } region
                || region.Required("name") is not { } nameNode
                || !ScalarValues.TryIdentifier(nameNode, region.Child("name"), _errors, out string name))
            {
                continue;
            }

            if (seen.TryGetValue(name, out int firstLine))
            {
                _errors.Add(nameNode, region.Child("name"), $"duplicate region '{name}'; first defined at line {firstLine}");
                continue;
            }

            seen.Add(name, nameNode.Position.Line);
            bool home = false;
            if (region.Optional("policy_home") is { } homeNode)
            {
                home = YamlBooleans.Read(homeNode, region.Child("policy_home"), _errors);
                if (home && firstHome is not null)
                {
                    _errors.Add(homeNode, region.Child("policy_home"), $"only one region may be the policy home; line {firstHome.Position.Line} already is");
                    home = false;
                }
                else if (home)
                {
                    firstHome = homeNode;
                }
            }

            regions.Add(new RegionDefinition
            {
                Name = name,
                FederationUrl = ReadFederationUrl(region),
                PolicyHome = home,
                PartitionShare = ReadPartitionShare(region),
            });
        }

        if (firstHome is null && regions.Count > 0)
        {
            regions[0] = regions[0] with { PolicyHome = true };
        }

        return new FleetRegions(regions.ToImmutable());
    }

    private Uri? ReadFederationUrl(MappingReader region)
    {
        if (region.Optional("federation_url") is not { } node || !ScalarValues.TryString(node, region.Child("federation_url"), _errors, out string url))
        {
            return null;
        }

        if (url.Length > MaxUrlLength)
        {
            _errors.Add(node, region.Child("federation_url"), $"must be at most {MaxUrlLength} characters");
            return null;
        }

        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || string.IsNullOrEmpty(uri.Host))
        {
            _errors.Add(node, region.Child("federation_url"), $"must be an absolute http(s) URL, got {node.Describe()}");
            return null;
        }

        return uri;
    }

    private double? ReadPartitionShare(MappingReader region)
    {
        if (region.Optional("partition_share") is not { } node || !ScalarValues.TryDouble(node, region.Child("partition_share"), _errors, out double share))
        {
            return null;
        }

        if (share is <= 0 or > 1)
        {
            _errors.Add(node, region.Child("partition_share"), $"must be greater than 0 and at most 1, got {((ScalarNode)node).Value}");
            return null;
        }

        return share;
    }

    /// <summary>With regions listed, every endpoint's <c>region</c> must name one of them (its home region).</summary>
    private void CheckEndpointRegions(FleetRegions regions)
    {
        if (!regions.IsFederated)
        {
            return;
        }

        string known = string.Join(", ", regions.All.Select(r => r.Name));
        foreach (var endpoint in _endpointOrder)
        {
            if (endpoint.RegionNode is { } node && endpoint.Descriptor.Region.Length > 0 && regions.Find(endpoint.Descriptor.Region) is null)
            {
                string hint = ConfigVocabulary.Suggest(endpoint.Descriptor.Region, [.. regions.All.Select(r => r.Name)]) is { } s ? $" (did you mean '{s}'?)" : "";
                _errors.Add(node, endpoint.Path + ".region", $"unknown region '{endpoint.Descriptor.Region}'{hint}; the fleet's regions are {known}");
            }
        }
    }
}
