using System.Globalization;
using ControlPlane.Testing.Processes;

namespace ControlPlane.Server.Cluster.Tests.Faults;

/// <summary>One real <c>controlplane</c> process (a <see cref="ServerProcess"/>) run as a cluster node on fixed ports,
/// so a restart comes back on the same addresses. Its stdout and stderr are kept in memory; signals go straight to its
/// pid (kill -9, SIGSTOP, SIGCONT, SIGTERM).</summary>
internal sealed class NodeProcess : IAsyncDisposable
{
    public const int SigKill = ServerProcess.SigKill;
    public const int SigTerm = ServerProcess.SigTerm;
    public const int SigCont = ServerProcess.SigCont;
    public const int SigStop = ServerProcess.SigStop;

    private readonly ServerProcess _process;

    public NodeProcess(string name, string redis, string clusterPrefix, string membership)
    {
        Name = name;
        GrpcPort = FreePort();
        AdminPort = FreePort();
        SiloPort = FreePort();
        GatewayPort = FreePort();
        _process = new ServerProcess(name,
        [
            "--redis", redis,
            "--node-name", name,
            "--grpc-listen", $"127.0.0.1:{GrpcPort}",
            "--admin-listen", $"127.0.0.1:{AdminPort}",
            "--silo-port", GrpcText(SiloPort),
            "--gateway-port", GrpcText(GatewayPort),
            "--cluster-prefix", clusterPrefix,
            "--membership", membership,
            "--fleet", FleetPath,
        ]);
    }

    public string Name { get; }

    public int GrpcPort { get; }

    public int AdminPort { get; }

    public int SiloPort { get; }

    public int GatewayPort { get; }

    public Uri AdminAddress => new($"http://127.0.0.1:{AdminPort}/");

    public string GrpcAddress => $"http://127.0.0.1:{GrpcPort}";

    /// <summary>The pid of the current process (one per start).</summary>
    public int Pid => _process.Pid;

    public bool HasExited => _process.HasExited;

    public int? ExitCode => _process.ExitCode;

    /// <summary>How many times the node printed "Cluster node ..." in its current process (2 after an in-process rejoin).</summary>
    public int ClusterLines => _process.ClusterLines;

    /// <summary>The sample fleet, found from the test folder upwards.</summary>
    public static string FleetPath { get; } = FindFleet();

    /// <summary>True when a silo address (the admin view's <c>host</c>, e.g. <c>S127.0.0.1:40123:123456</c>) is this node's.</summary>
    public bool Hosts(string? siloAddress) =>
        siloAddress is not null && siloAddress.Contains($"127.0.0.1:{SiloPort}:", StringComparison.Ordinal);

    /// <summary>Starts the process and waits for its "Cluster node" line.</summary>
    public Task StartAsync(TimeSpan timeout) => _process.StartAsync(timeout);

    /// <summary>Sends a signal to the current process.</summary>
    public void Signal(int signal) => _process.Signal(signal);

    /// <summary>kill -9 and wait for the exit.</summary>
    public Task KillAsync() => _process.KillAsync();

    /// <summary>Waits for the process to exit; null if it has not within the timeout.</summary>
    public Task<int?> WaitForExitAsync(TimeSpan timeout) => _process.WaitForExitAsync(timeout);

    /// <summary>Waits until the node printed its "Cluster node" line <paramref name="count"/> times (rejoins print it again).</summary>
    public Task<bool> WaitForClusterLinesAsync(int count, TimeSpan timeout) => _process.WaitForClusterLinesAsync(count, timeout);

    /// <summary>Whether any output line (stdout or stderr) contains the text.</summary>
    public bool Logged(string text) => _process.Logged(text);

    /// <summary>The last lines of output.</summary>
    public string Tail(int lines) => _process.Tail(lines);

    /// <summary>Output lines containing the text.</summary>
    public IReadOnlyList<string> Lines(string text) => _process.Lines(text);

    public void Log(string line) => _process.Log(line);

    /// <summary>Kills the process (thawing it first if it is stopped) and waits for it.</summary>
    public ValueTask DisposeAsync() => _process.DisposeAsync();

    private static string GrpcText(int port) => port.ToString(CultureInfo.InvariantCulture);

    private static int FreePort() => ControlPlane.Testing.FreePort.Next();

    private static string FindFleet()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "deploy", "fleet.sample.yaml");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException("deploy/fleet.sample.yaml was not found above the test folder.");
    }
}
