using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace ControlPlane.Server.Drills;

/// <summary>The <c>redis-server</c> of a <c>--cluster 3</c> drill: the binary found on PATH, started on a free loopback
/// port with its own folder (no persistence: the drill's cluster lives as long as the drill), killed and its folder
/// deleted on dispose.</summary>
internal sealed class DrillRedisServer : IAsyncDisposable
{
    /// <summary>The executable looked up on PATH.</summary>
    internal const string ExecutableName = "redis-server";

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(20);
    private const int StartAttempts = 3;

    private readonly Process _process;

    private DrillRedisServer(Process process, int port, string directory)
    {
        _process = process;
        Port = port;
        Directory = directory;
    }

    /// <summary>The server's port on 127.0.0.1.</summary>
    public int Port { get; }

    /// <summary><c>127.0.0.1:port</c>, what a node's <c>--redis</c> names.</summary>
    public string Endpoint => string.Create(CultureInfo.InvariantCulture, $"127.0.0.1:{Port}");

    /// <summary>The server's own folder (its log).</summary>
    public string Directory { get; }

    /// <summary>The full path of <c>redis-server</c> in the folders of <paramref name="searchPath"/> (a PATH value).</summary>
    /// <exception cref="InvalidOperationException">It is in none of them: the message names the Debian package.</exception>
    public static string Locate(string? searchPath)
    {
        foreach (var folder in (searchPath ?? string.Empty).Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var candidate = Path.Combine(folder, ExecutableName);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException(
            $"--cluster 3 needs {ExecutableName} on PATH and it was not found: install the Debian package redis-server " +
            "(apt-get install redis-server, or scripts/install-test-deps.sh), or run the drill with --cluster 1.");
    }

    /// <summary>Starts <paramref name="executable"/> in <paramref name="directory"/> (created; deleted again if it
    /// cannot start) and waits until it answers PING.</summary>
    public static async Task<DrillRedisServer> StartAsync(string executable, string directory, CancellationToken cancellationToken)
    {
        System.IO.Directory.CreateDirectory(directory);
        try
        {
            for (var attempt = 1; ; attempt++)
            {
                // The port is free when probed; another process can take it before redis-server binds it, so a server
                // that exits at once is started again on a new port.
                var port = FreeLoopbackPort();
                var process = Start(executable, directory, port);
                try
                {
                    if (await WaitUntilReadyAsync(process, port, cancellationToken).ConfigureAwait(false))
                    {
                        return new DrillRedisServer(process, port, directory);
                    }
                }
                catch
                {
                    Kill(process);
                    throw;
                }

                Kill(process);
                if (attempt == StartAttempts)
                {
                    throw new InvalidOperationException($"{executable} did not start on 127.0.0.1 (last port {port}). Log:\n{ReadLog(directory)}");
                }
            }
        }
        catch
        {
            TryDelete(directory);
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync().ConfigureAwait(false);
        }

        _process.Dispose();
        TryDelete(Directory);
    }

    private static Process Start(string executable, string directory, int port)
    {
        var start = new ProcessStartInfo(executable)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = directory,
        };
        string[] arguments =
        [
            "--port", port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--dir", directory, "--logfile", "redis.log",
            "--daemonize", "no", "--save", string.Empty, "--appendonly", "no", "--protected-mode", "yes",
        ];
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException($"{executable} did not start.");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    // True once the server answers PING; false when it exited (a taken port) or did not answer in time.
    private static async Task<bool> WaitUntilReadyAsync(Process process, int port, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < StartTimeout)
        {
            if (process.HasExited)
            {
                return false;
            }

            try
            {
                if (await PingAsync(port, cancellationToken).ConfigureAwait(false))
                {
                    return true;
                }
            }
            catch (Exception e) when (e is SocketException or IOException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                // Not listening yet.
            }

            await Task.Delay(50, cancellationToken).ConfigureAwait(false);
        }

        return false;
    }

    private static async Task<bool> PingAsync(int port, CancellationToken cancellationToken)
    {
        using var client = new TcpClient();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(2));
        await client.ConnectAsync(IPAddress.Loopback, port, timeout.Token).ConfigureAwait(false);
        var stream = client.GetStream();
        await stream.WriteAsync("*1\r\n$4\r\nPING\r\n"u8.ToArray(), timeout.Token).ConfigureAwait(false);
        var buffer = new byte[64];
        var read = await stream.ReadAsync(buffer, timeout.Token).ConfigureAwait(false);
        return Encoding.ASCII.GetString(buffer, 0, read).StartsWith("+PONG", StringComparison.Ordinal);
    }

    private static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static void Kill(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill();
                process.WaitForExit(5_000);
            }
        }
        finally
        {
            process.Dispose();
        }
    }

    private static string ReadLog(string directory)
    {
        var log = Path.Combine(directory, "redis.log");
        return File.Exists(log) ? File.ReadAllText(log) : "(no log)";
    }

    private static void TryDelete(string directory)
    {
        try
        {
            System.IO.Directory.Delete(directory, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
            // Already gone.
        }
        catch (IOException)
        {
            // Best effort: the drill's work folder is deleted after it anyway.
        }
    }
}
