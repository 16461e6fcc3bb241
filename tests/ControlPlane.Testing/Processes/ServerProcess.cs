using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;

namespace ControlPlane.Testing.Processes;

/// <summary>One real <c>controlplane</c> process (the executable built next to the calling assembly: every project that
/// references <c>ControlPlane.Server</c> gets it) with the arguments and environment the caller gives, restartable with
/// the same command line. Its stdout and stderr are kept in memory; signals go straight to its pid.</summary>
public sealed class ServerProcess : IAsyncDisposable
{
    /// <summary>SIGKILL.</summary>
    public const int SigKill = 9;

    /// <summary>SIGTERM.</summary>
    public const int SigTerm = 15;

    /// <summary>SIGCONT.</summary>
    public const int SigCont = 18;

    /// <summary>SIGSTOP.</summary>
    public const int SigStop = 19;

    private const string ClusterLinePrefix = "Cluster node ";
    private readonly ConcurrentQueue<string> _log = new();
    private readonly string[] _arguments;
    private readonly Dictionary<string, string> _environment;
    private Process? _process;
    private TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _clusterLines;
    private bool _paused;

    /// <summary>A process not started yet. The test bootstrap admin key (<see cref="TestCredentials.AdminKey"/>) is in
    /// its environment unless <paramref name="environment"/> sets <c>CONTROLPLANE_ADMIN_KEY</c> itself.</summary>
    public ServerProcess(string name, IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null)
    {
        Name = name;
        _arguments = [.. arguments];
        _environment = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["Logging__LogLevel__Default"] = "Warning",
            ["DOTNET_gcServer"] = "0",
            [TestCredentials.AdminKeyVariable] = TestCredentials.AdminKey,
        };
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            _environment[key] = value;
        }
    }

    /// <summary>The name used in messages and log files.</summary>
    public string Name { get; }

    /// <summary>The command-line arguments.</summary>
    public IReadOnlyList<string> Arguments => _arguments;

    /// <summary>The pid of the current process (one per start), 0 before the first.</summary>
    public int Pid => _process?.Id ?? 0;

    /// <summary>True before the first start and once the process ended.</summary>
    public bool HasExited => _process is null || _process.HasExited;

    /// <summary>The exit code once it ended.</summary>
    public int? ExitCode => _process is { HasExited: true } p ? p.ExitCode : null;

    /// <summary>How many times the node printed "Cluster node ..." in its current process (again after an in-process rejoin).</summary>
    public int ClusterLines => Volatile.Read(ref _clusterLines);

    /// <summary>The built executable: the <c>controlplane</c> apphost next to the calling assembly.</summary>
    public static string ExecutablePath => Path.Combine(AppContext.BaseDirectory, "controlplane");

    /// <summary>Starts the process and waits for its "Cluster node" line (printed once the node serves).</summary>
    public async Task StartAsync(TimeSpan timeout)
    {
        if (!HasExited)
        {
            throw new InvalidOperationException($"{Name} is already running.");
        }

        if (!File.Exists(ExecutablePath))
        {
            throw new InvalidOperationException($"The controlplane executable is not at {ExecutablePath}: reference src/ControlPlane.Server from the test or bench project.");
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

        foreach (var (key, value) in _environment)
        {
            info.Environment[key] = value;
        }

        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) => OnLine(e.Data, "out");
        process.ErrorDataReceived += (_, e) => OnLine(e.Data, "err");
        process.Exited += (_, _) => _started.TrySetException(new InvalidOperationException($"{Name} exited before serving.\n{Tail(40)}"));
        _paused = false;
        if (!process.Start())
        {
            throw new InvalidOperationException($"{Name} did not start.");
        }

        _process = process;
        Log($"started pid {process.Id}: controlplane {string.Join(' ', _arguments)}");
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await _started.Task.WaitAsync(timeout).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"{Name} did not print its \"{ClusterLinePrefix}\" line within {timeout.TotalSeconds:F0} s.\n{Tail(40)}");
        }
    }

    /// <summary>Sends a signal to the current process (nothing if it has ended).</summary>
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

    /// <summary>Waits for the process to exit: its exit code, or null if it has not exited within the timeout.</summary>
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

    /// <summary>Output lines containing the text (case-insensitive).</summary>
    public IReadOnlyList<string> Lines(string text) => [.. _log.Where(l => l.Contains(text, StringComparison.OrdinalIgnoreCase))];

    /// <summary>Adds a line of the test's own to the output (marked <c>[test]</c>).</summary>
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
        if (line.StartsWith(ClusterLinePrefix, StringComparison.Ordinal))
        {
            Interlocked.Increment(ref _clusterLines);
            _started.TrySetResult();
        }
    }

    private static class NativeMethods
    {
        [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
        public static extern int Kill(int pid, int signal);
    }
}
