namespace ControlPlane.Grpc.Tests.Interop;

/// <summary>Paths of things the interop tests run: the repository root (found from the test binaries) and
/// the built <c>controlplane</c> server of the same configuration.</summary>
internal static class RepositoryLayout
{
    public static string Root { get; } = FindRoot();

    public static string Protos => Path.Combine(Root, "protos");

    public static string InteropDirectory(string client) => Path.Combine(Root, "tests", "interop", client);

    /// <summary>The server assembly, built before the tests by the project reference in the test csproj.</summary>
    public static string ServerAssembly
    {
        get
        {
            // Test binaries live in tests/ControlPlane.Grpc.Tests/bin/{Configuration}/{tfm}/.
            var tfmDir = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
            var configuration = tfmDir.Parent!.Name;
            return Path.Combine(Root, "src", "ControlPlane.Server", "bin", configuration, tfmDir.Name, "controlplane.dll");
        }
    }

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
