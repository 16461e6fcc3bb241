using System.Diagnostics;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using Xunit;

namespace ControlPlane.Testing.Redis;

/// <summary>A real <c>redis-server</c> on 127.0.0.1, on a free port, with its own temp directory.
/// Use it as an xunit class fixture (<c>IClassFixture&lt;RedisServerFixture&gt;</c>) or create one per
/// test for fault tests (stop, restart, pause). Killed on dispose; its directory is deleted.</summary>
public sealed class RedisServerFixture : IAsyncLifetime, IAsyncDisposable
{
    private const int SigTerm = 15;
    private const int SigCont = 18;
    private const int SigStop = 19;

    private readonly RedisServerOptions _options;
    private Process? _process;
    private bool _paused;

    /// <summary>Creates a fixture with the default options (no persistence).</summary>
    public RedisServerFixture()
        : this(new RedisServerOptions())
    {
    }

    private RedisServerFixture(RedisServerOptions options)
    {
        _options = options ?? throw new ArgumentNullException(nameof(options));
        Port = FreePort.Next();
        DataDirectory = Path.Combine(Path.GetTempPath(), "cp-redis-" + Guid.NewGuid().ToString("N")[..12]);
    }

    /// <summary>Creates a fixture with custom options (xunit class fixtures use the parameterless
    /// constructor); call <see cref="StartAsync"/> or use <see cref="StartNewAsync"/>.</summary>
    public static RedisServerFixture Create(RedisServerOptions options) => new(options);

    /// <summary>Creates and starts a server, for tests that own one (fault tests).</summary>
    public static async Task<RedisServerFixture> StartNewAsync(RedisServerOptions? options = null)
    {
        var server = new RedisServerFixture(options ?? new RedisServerOptions());
        try
        {
            await server.StartAsync().ConfigureAwait(false);
            return server;
        }
        catch
        {
            await server.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>The TCP port, the same across restarts.</summary>
    public int Port { get; }

    /// <summary><c>127.0.0.1:port</c>, ready for <c>RedisOptions.Endpoint</c>.</summary>
    public string Endpoint => $"127.0.0.1:{Port}";

    /// <summary>The <c>requirepass</c> password, if any.</summary>
    public string? Password => _options.RequirePass;

    /// <summary>The server's working directory (AOF, log file).</summary>
    public string DataDirectory { get; }

    /// <summary>True while the process is running (paused counts as running).</summary>
    public bool IsRunning => _process is { HasExited: false };

    /// <summary>The server's process id while it runs.</summary>
    public int? ProcessId => IsRunning ? _process!.Id : null;

    /// <summary>Full path of the redis-server binary, or a clear error when it is missing.</summary>
    public static string ServerPath => FindOnPath("redis-server") ?? throw new InvalidOperationException(
        "redis-server was not found on PATH. Run scripts/install-test-deps.sh (it installs the Debian redis-server package).");

    /// <inheritdoc />
    public Task InitializeAsync() => StartAsync();

    /// <inheritdoc />
    Task IAsyncLifetime.DisposeAsync() => DisposeAsync().AsTask();

    /// <summary>Kills the server and deletes its directory.</summary>
    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
            // Never started.
        }
    }

    /// <summary>Starts the server on <see cref="Port"/> and waits until it answers PING.</summary>
    public async Task StartAsync()
    {
        if (IsRunning)
        {
            throw new InvalidOperationException($"redis-server is already running on port {Port}.");
        }

        Directory.CreateDirectory(DataDirectory);
        var start = new ProcessStartInfo(ServerPath)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = DataDirectory,
        };
        foreach (var argument in Arguments())
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("redis-server did not start.");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;
        _paused = false;
        await WaitUntilReadyAsync(process).ConfigureAwait(false);
    }

    /// <summary>Stops the server: SIGKILL by default (a crash), or SIGTERM and wait when
    /// <paramref name="graceful"/> (Redis flushes its AOF on the way down).</summary>
    public async Task StopAsync(bool graceful = false)
    {
        var process = _process;
        if (process is null)
        {
            return;
        }

        _process = null;
        if (!process.HasExited)
        {
            if (graceful)
            {
                Signal(process.Id, SigTerm);
                if (_paused)
                {
                    Signal(process.Id, SigCont);
                }
            }
            else
            {
                process.Kill();
            }

            await process.WaitForExitAsync().ConfigureAwait(false);
        }

        _paused = false;
        process.Dispose();
    }

    /// <summary>Stops and starts again on the same port. With <paramref name="keepData"/> the directory
    /// (and its AOF) survives; without it the server starts empty.</summary>
    public async Task RestartAsync(bool keepData = true, bool graceful = false)
    {
        await StopAsync(graceful).ConfigureAwait(false);
        if (!keepData && Directory.Exists(DataDirectory))
        {
            Directory.Delete(DataDirectory, recursive: true);
        }

        await StartAsync().ConfigureAwait(false);
    }

    /// <summary>Freezes the server (SIGSTOP): sockets stay open but nothing is answered. Returns once
    /// the kernel reports the process stopped, so a command sent afterwards is certainly not served.</summary>
    public void Pause()
    {
        var process = RunningProcess();
        Signal(process.Id, SigStop);
        _paused = true;
        WaitForState(process.Id, stopped: true);
    }

    /// <summary>Thaws a paused server (SIGCONT) and returns once it runs again.</summary>
    public void Resume()
    {
        var process = RunningProcess();
        Signal(process.Id, SigCont);
        _paused = false;
        WaitForState(process.Id, stopped: false);
    }

    // Signals are delivered asynchronously; /proc/<pid>/stat shows 'T' once the process is stopped.
    private static void WaitForState(int pid, bool stopped)
    {
        var stat = $"/proc/{pid}/stat";
        if (!File.Exists(stat))
        {
            return;
        }

        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(10))
        {
            var text = File.ReadAllText(stat);
            var state = text[text.LastIndexOf(')') + 2];
            if ((state == 'T') == stopped)
            {
                return;
            }

            Thread.Sleep(1);
        }

        throw new TimeoutException($"redis-server {pid} did not {(stopped ? "stop" : "continue")} after the signal.");
    }

    /// <summary>Runs <c>redis-cli</c> against this server (an independent client to check ours against)
    /// and returns its trimmed output.</summary>
    public async Task<string> CliAsync(params string[] arguments)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        var cli = FindOnPath("redis-cli") ?? throw new InvalidOperationException(
            "redis-cli was not found on PATH. Run scripts/install-test-deps.sh.");
        var start = new ProcessStartInfo(cli)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add("-h");
        start.ArgumentList.Add("127.0.0.1");
        start.ArgumentList.Add("-p");
        start.ArgumentList.Add(Port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (Password is not null)
        {
            start.Environment["REDISCLI_AUTH"] = Password;
        }

        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("redis-cli did not start.");
        var output = await process.StandardOutput.ReadToEndAsync().ConfigureAwait(false);
        var error = await process.StandardError.ReadToEndAsync().ConfigureAwait(false);
        await process.WaitForExitAsync().ConfigureAwait(false);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"redis-cli {string.Join(' ', arguments)} failed ({process.ExitCode}): {error}{output}");
        }

        return output.Trim();
    }

    private IEnumerable<string> Arguments()
    {
        string[] basics =
        [
            "--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--bind", "127.0.0.1",
            "--dir", DataDirectory,
            "--logfile", "redis.log",
            "--daemonize", "no",
            "--save", string.Empty,
            "--appendonly", _options.AppendOnly ? "yes" : "no",
        ];
        foreach (var argument in basics)
        {
            yield return argument;
        }

        if (_options.AppendOnly)
        {
            yield return "--appendfsync";
            yield return _options.AppendFsync;
        }

        if (_options.RequirePass is { } password)
        {
            yield return "--requirepass";
            yield return password;
        }

        foreach (var argument in _options.ExtraArguments)
        {
            yield return argument;
        }
    }

    private async Task WaitUntilReadyAsync(Process process)
    {
        var deadline = Stopwatch.StartNew();
        Exception? last = null;
        while (deadline.Elapsed < _options.StartTimeout)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException(
                    $"redis-server exited with code {process.ExitCode} on port {Port}. Log:\n{ReadLog()}");
            }

            try
            {
                if (await PingAsync().ConfigureAwait(false))
                {
                    return;
                }
            }
            catch (Exception ex) when (ex is SocketException or IOException)
            {
                last = ex;
            }

            await Task.Delay(20).ConfigureAwait(false);
        }

        process.Kill();
        throw new TimeoutException($"redis-server on port {Port} did not answer PING within {_options.StartTimeout} ({last?.Message}). Log:\n{ReadLog()}");
    }

    // A raw-socket PING, so the fixture does not depend on the client under test.
    private async Task<bool> PingAsync()
    {
        using var client = new TcpClient();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        await client.ConnectAsync("127.0.0.1", Port, timeout.Token).ConfigureAwait(false);
        var stream = client.GetStream();
        var request = new StringBuilder();
        if (Password is { } password)
        {
            request.Append(FormattableString.Invariant($"*2\r\n$4\r\nAUTH\r\n${Encoding.UTF8.GetByteCount(password)}\r\n{password}\r\n"));
        }

        request.Append("*1\r\n$4\r\nPING\r\n");
        await stream.WriteAsync(Encoding.UTF8.GetBytes(request.ToString()), timeout.Token).ConfigureAwait(false);
        var received = new StringBuilder();
        var buffer = new byte[256];
        while (!received.ToString().Contains("PONG", StringComparison.Ordinal))
        {
            var read = await stream.ReadAsync(buffer, timeout.Token).ConfigureAwait(false);
            if (read == 0)
            {
                return false;
            }

            received.Append(Encoding.UTF8.GetString(buffer, 0, read));
            if (received.ToString().StartsWith("-LOADING", StringComparison.Ordinal))
            {
                return false;
            }
        }

        return true;
    }

    private string ReadLog()
    {
        var log = Path.Combine(DataDirectory, "redis.log");
        return File.Exists(log) ? File.ReadAllText(log) : "(no log)";
    }

    private Process RunningProcess() =>
        _process is { HasExited: false } process ? process : throw new InvalidOperationException("redis-server is not running.");

    private static void Signal(int pid, int signal)
    {
        if (NativeMethods.Kill(pid, signal) != 0)
        {
            throw new InvalidOperationException($"kill({pid}, {signal}) failed with errno {Marshal.GetLastPInvokeError()}.");
        }
    }

    private static string? FindOnPath(string name)
    {
        var directories = (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator).Append("/usr/bin").Append("/usr/sbin");
        return directories.Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists);
    }

    private static class NativeMethods
    {
        [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
        public static extern int Kill(int pid, int signal);
    }
}
