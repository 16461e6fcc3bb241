using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace ControlPlane.Server.Cluster.Tests.Faults;

/// <summary>One real <c>controlplane</c> process (the apphost copied next to the tests) run as a cluster node on fixed
/// ports, so a restart comes back on the same addresses. Its stdout and stderr are kept in memory; signals go
/// straight to its pid (kill -9, SIGSTOP, SIGCONT, SIGTERM).</summary>
internal sealed class NodeProcess : IAsyncDisposable
{
    public const int SigKill = 9;
    public const int SigTerm = 15;
    public const int SigCont = 18;
    public const int SigStop = 19;

    private readonly ConcurrentQueue<string> _log = new();
    private readonly string[] _arguments;
    private Process? _process;
    private TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _clusterLines;
    private bool _paused;

    public NodeProcess(string name, string redis, string clusterPrefix, string membership)
    {
        Name = name;
        GrpcPort = FreePort();
        AdminPort = FreePort();
        SiloPort = FreePort();
        GatewayPort = FreePort();
        _arguments =
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
        ];
    }

    public string Name { get; }

    public int GrpcPort { get; }

    public int AdminPort { get; }

    public int SiloPort { get; }

    public int GatewayPort { get; }

    public Uri AdminAddress => new($"http://127.0.0.1:{AdminPort}/");

    public string GrpcAddress => $"http://127.0.0.1:{GrpcPort}";

    /// <summary>The pid of the current process (one per start).</summary>
    public int Pid => _process?.Id ?? 0;

    public bool HasExited => _process is null || _process.HasExited;

    public int? ExitCode => _process is { HasExited: true } p ? p.ExitCode : null;

    /// <summary>How many times the node printed "Cluster node ..." in its current process (2 after an in-process rejoin).</summary>
    public int ClusterLines => Volatile.Read(ref _clusterLines);

    /// <summary>The sample fleet, found from the test folder upwards.</summary>
    public static string FleetPath { get; } = FindFleet();

    /// <summary>The built executable: the apphost copied next to the test assembly.</summary>
    public static string ExecutablePath => Path.Combine(AppContext.BaseDirectory, "controlplane");

    /// <summary>True when a silo address (the admin view's <c>host</c>, e.g. <c>S127.0.0.1:40123:123456</c>) is this node's.</summary>
    public bool Hosts(string? siloAddress) =>
        siloAddress is not null && siloAddress.Contains($"127.0.0.1:{SiloPort}:", StringComparison.Ordinal);

    /// <summary>Starts the process and waits for its "Cluster node" line.</summary>
    public async Task StartAsync(TimeSpan timeout)
    {
        if (!HasExited)
        {
            throw new InvalidOperationException($"{Name} is already running.");
        }

        _process?.Dispose();
        Volatile.Write(ref _clusterLines, 0);
        _started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var info = new ProcessStartInfo(ExecutablePath)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in _arguments)
        {
            info.ArgumentList.Add(argument);
        }

        info.Environment["Logging__LogLevel__Default"] = "Warning";
        info.Environment["DOTNET_gcServer"] = "0";
        info.Environment[ControlPlane.Testing.TestCredentials.AdminKeyVariable] = ControlPlane.Testing.TestCredentials.AdminKey;
        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) => OnLine(e.Data, "out");
        process.ErrorDataReceived += (_, e) => OnLine(e.Data, "err");
        process.Exited += (_, _) => _started.TrySetException(new InvalidOperationException($"{Name} exited before joining.\n{Tail(40)}"));
        _paused = false;
        if (!process.Start())
        {
            throw new InvalidOperationException($"{Name} did not start.");
        }

        _process = process;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        await _started.Task.WaitAsync(timeout).ConfigureAwait(false);
    }

    /// <summary>Sends a signal to the current process.</summary>
    public void Signal(int signal)
    {
        var process = _process ?? throw new InvalidOperationException($"{Name} was never started.");
        if (process.HasExited)
        {
            return;
        }

        if (NativeMethods.Kill(process.Id, signal) != 0)
        {
            throw new InvalidOperationException($"kill({process.Id}, {signal}) failed with errno {Marshal.GetLastPInvokeError()}.");
        }

        _paused = signal == SigStop || (_paused && signal != SigCont);
        Log($"signal {signal} sent to pid {process.Id}");
    }

    /// <summary>kill -9 and wait for the exit.</summary>
    public async Task KillAsync()
    {
        Signal(SigKill);
        await _process!.WaitForExitAsync().ConfigureAwait(false);
    }

    /// <summary>Waits for the process to exit; null if it has not within the timeout.</summary>
    public async Task<int?> WaitForExitAsync(TimeSpan timeout)
    {
        var process = _process ?? throw new InvalidOperationException($"{Name} was never started.");
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token).ConfigureAwait(false);
            return process.ExitCode;
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    /// <summary>Waits until the node printed its "Cluster node" line <paramref name="count"/> times (rejoins print it again).</summary>
    public async Task<bool> WaitForClusterLinesAsync(int count, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (ClusterLines < count)
        {
            if (clock.Elapsed > timeout || HasExited)
            {
                return false;
            }

            await Task.Delay(50).ConfigureAwait(false);
        }

        return true;
    }

    /// <summary>Whether any output line (stdout or stderr) contains the text.</summary>
    public bool Logged(string text) => _log.Any(l => l.Contains(text, StringComparison.Ordinal));

    /// <summary>The last lines of output.</summary>
    public string Tail(int lines) => string.Join('\n', _log.ToArray().TakeLast(lines));

    /// <summary>Output lines containing the text.</summary>
    public IReadOnlyList<string> Lines(string text) => [.. _log.Where(l => l.Contains(text, StringComparison.OrdinalIgnoreCase))];

    public void Log(string line) => _log.Enqueue($"{DateTime.UtcNow:HH:mm:ss.fff} [test] {line}");

    /// <summary>Kills the process (thawing it first if it is stopped) and waits for it.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_process is { } process)
        {
            try
            {
                if (!process.HasExited)
                {
                    if (_paused)
                    {
                        _ = NativeMethods.Kill(process.Id, SigCont);
                    }

                    process.Kill(entireProcessTree: true);
                    using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                    await process.WaitForExitAsync(cts.Token).ConfigureAwait(false);
                }
            }
            catch (Exception ex) when (ex is InvalidOperationException or OperationCanceledException or System.ComponentModel.Win32Exception)
            {
                // Already gone.
            }

            process.Dispose();
            _process = null;
        }
    }

    private void OnLine(string? line, string stream)
    {
        if (line is null)
        {
            return;
        }

        _log.Enqueue($"{DateTime.UtcNow:HH:mm:ss.fff} [{stream}] {line}");
        if (line.StartsWith("Cluster node ", StringComparison.Ordinal))
        {
            Interlocked.Increment(ref _clusterLines);
            _started.TrySetResult();
        }
    }

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

    private static class NativeMethods
    {
        [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
        public static extern int Kill(int pid, int signal);
    }
}
