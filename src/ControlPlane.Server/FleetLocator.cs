using ControlPlane.Fleet;

namespace ControlPlane.Server;

/// <summary>Finds and loads the fleet file: <c>--fleet FILE</c>, else the sample <c>deploy/fleet.sample.yaml</c>
/// looked up from the current directory and from the application's directory upwards (so <c>dotnet run</c>
/// from the repository and the built executable both find it), else the copy next to the executable.</summary>
internal static class FleetLocator
{
    public const string SampleRelativePath = "deploy/fleet.sample.yaml";

    public const string SampleFileName = "fleet.sample.yaml";

    /// <summary>The path to load; a missing explicit file is left to the loader to report.</summary>
    public static string Resolve(string? explicitPath)
    {
        if (explicitPath is not null)
        {
            return explicitPath;
        }

        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, SampleRelativePath);
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }
        }

        var copy = Path.Combine(AppContext.BaseDirectory, SampleFileName);
        return File.Exists(copy) ? copy : SampleRelativePath;
    }

    /// <summary>Loads and validates the fleet; throws <see cref="FleetConfigException"/> listing every problem.</summary>
    public static FleetDefinition Load(string? explicitPath) => FleetLoader.LoadFile(Resolve(explicitPath));
}
