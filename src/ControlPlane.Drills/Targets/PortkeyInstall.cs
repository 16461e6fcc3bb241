namespace ControlPlane.Drills.Targets;

/// <summary>Where the pinned Portkey gateway is installed: <c>bench/portkey</c> (package.json + package-lock.json;
/// <c>npm ci</c> there, done by scripts/install-test-deps.sh, fills <c>node_modules</c>).</summary>
internal static class PortkeyInstall
{
    /// <summary>The gateway's entry point, relative to the install folder.</summary>
    public const string EntryPoint = "node_modules/@portkey-ai/gateway/build/start-server.js";

    /// <summary>The preload that binds the gateway to loopback, relative to the install folder.</summary>
    public const string LoopbackPreload = "bind-loopback.mjs";

    /// <summary>Returns the install folder: <paramref name="configured"/> when given, else <c>bench/portkey</c> found
    /// above the current directory or above the executable.</summary>
    /// <exception cref="InvalidOperationException">The folder is missing or the gateway is not installed in it.</exception>
    public static string Locate(string? configured)
    {
        var directory = configured is { Length: > 0 } ? Path.GetFullPath(configured) : Find();
        if (directory is null)
        {
            throw new InvalidOperationException("bench/portkey not found above the current directory; pass the Portkey install folder");
        }

        if (!File.Exists(Path.Combine(directory, LoopbackPreload)))
        {
            throw new InvalidOperationException($"{directory}: {LoopbackPreload} is missing: not the bench/portkey folder");
        }

        if (!File.Exists(Path.Combine(directory, EntryPoint)))
        {
            throw new InvalidOperationException($"{directory}: the gateway is not installed: run 'npm ci' there (scripts/install-test-deps.sh does)");
        }

        return directory;
    }

    private static string? Find()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "bench", "portkey");
                if (File.Exists(Path.Combine(candidate, "package.json")) && File.Exists(Path.Combine(candidate, LoopbackPreload)))
                {
                    return candidate;
                }
            }
        }

        return null;
    }
}
