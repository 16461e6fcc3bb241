using ControlPlane.Fleet;

namespace ControlPlane.Service.FleetReload;

/// <summary>Parsing and adopting stored fleet generations.</summary>
internal static class FleetGenerations
{
    /// <summary>Most characters a fleet file may have to be reloaded (far above any real fleet; bounds what a reload
    /// reads, stores and pushes).</summary>
    public const int MaxTextLength = 4 * 1024 * 1024;

    /// <summary>The fleet of a stored generation (the same loader every node runs; throws
    /// <see cref="FleetConfigException"/> only if this build's loader disagrees with the one that stored it).</summary>
    public static FleetDefinition Parse(FleetGeneration generation) => FleetLoader.Load(new StringReader(generation.Text), generation.Source);

    /// <summary>Adopts <paramref name="generation"/> into <paramref name="catalog"/> when it is newer (parsed only then).</summary>
    public static FleetAdoption Adopt(this FleetCatalog catalog, FleetGeneration generation)
    {
        ArgumentNullException.ThrowIfNull(generation);
        return generation.Number <= catalog.Generation ? FleetAdoption.NotNewer : catalog.TryAdopt(Parse(generation), generation.Number);
    }
}
