namespace ControlPlane.Drills.Tests.Targets;

/// <summary>Files of the repository the Portkey tests read.</summary>
internal static class PortkeyTestLayout
{
    public static string Root { get; } = FindRoot();

    public static string SampleFleet => Path.Combine(Root, "deploy", "fleet.sample.yaml");

    public static string GatewayDirectory => Path.Combine(Root, "bench", "portkey");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "ControlPlane.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No ControlPlane.sln above {AppContext.BaseDirectory}.");
    }
}
