namespace ControlPlane.Server.Tests.Support;

/// <summary>Paths of things the tests run: the repository root (found from the test binaries) and the
/// <c>controlplane</c> executable, copied next to the tests by the project reference.</summary>
internal static class RepositoryLayout
{
    public static string Root { get; } = FindRoot();

    public static string Protos => Path.Combine(Root, "protos");

    /// <summary>The server assembly of the same build as the tests.</summary>
    public static string ServerAssembly => Path.Combine(AppContext.BaseDirectory, "controlplane.dll");

    public static string InteropDirectory(string client) => Path.Combine(Root, "tests", "interop", client);

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
