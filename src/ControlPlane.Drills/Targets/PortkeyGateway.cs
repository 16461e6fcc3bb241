using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;

namespace ControlPlane.Drills.Targets;

/// <summary>
/// One Portkey AI gateway replica: <c>node --import bind-loopback.mjs node_modules/@portkey-ai/gateway/build/start-server.js
/// --port=0 --headless</c> in <c>bench/portkey</c>. The gateway has no host option (it binds every interface);
/// <c>bind-loopback.mjs</c> rewrites its <c>listen()</c> to 127.0.0.1 before the socket is bound and prints
/// <c>portkey-listening 127.0.0.1:PORT</c>, which this class waits for (and checks is loopback). Its output is drained
/// continuously (the gateway logs every failed upstream call), the last lines kept for error messages. Disposing kills
/// the process tree; if this process dies first, the replica exits when its stdin (held here) reaches its end.
/// </summary>
internal sealed partial class PortkeyGateway : IAsyncDisposable
{
    private const int KeptLines = 40;
    private readonly Process _process;
    private readonly Queue<string> _lastLines = new();
    private readonly TaskCompletionSource<IPEndPoint> _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private PortkeyGateway(Process process) => _process = process;

    /// <summary>Where the replica listens (<c>http://127.0.0.1:PORT/</c>).</summary>
    public Uri BaseUri { get; private set; } = new("http://127.0.0.1/");

    /// <summary>The gateway's process id.</summary>
    public int ProcessId => _process.Id;

    /// <summary>Starts a replica and waits until it listens on loopback.</summary>
    /// <exception cref="InvalidOperationException">The gateway is not installed, exits, or does not listen in time.</exception>
    public static async Task<PortkeyGateway> StartAsync(PortkeyTargetOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var directory = PortkeyInstall.Locate(options.GatewayDirectory);
        var start = new ProcessStartInfo(options.NodePath)
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("--import");
        start.ArgumentList.Add(new Uri(Path.Combine(directory, PortkeyInstall.LoopbackPreload)).AbsoluteUri);
        start.ArgumentList.Add(Path.Combine(directory, PortkeyInstall.EntryPoint));
        start.ArgumentList.Add("--port=0");
        start.ArgumentList.Add("--headless");
        start.Environment["NODE_ENV"] = "production";
        start.Environment["PORTKEY_BIND_HOST"] = "127.0.0.1";
        // We hold the write end of its stdin: if this process dies (even SIGKILL), the replica sees EOF and exits.
        start.Environment["PORTKEY_EXIT_WITH_PARENT"] = "1";
        // The gateway would read these for its Redis cache; a drill replica keeps no shared state.
        start.Environment.Remove("REDIS_CONNECTION_STRING");

        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {options.NodePath}");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException($"could not start '{options.NodePath}' (Node.js; scripts/install-test-deps.sh installs it): {e.Message}", e);
        }

        var gateway = new PortkeyGateway(process);
        process.OutputDataReceived += (_, e) => gateway.OnLine(e.Data, stdout: true);
        process.ErrorDataReceived += (_, e) => gateway.OnLine(e.Data, stdout: false);
        process.EnableRaisingEvents = true;
        process.Exited += (_, _) => gateway._listening.TrySetException(
            new InvalidOperationException($"the Portkey gateway exited before listening: {gateway.LastLines()}"));
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            var endPoint = await gateway._listening.Task.WaitAsync(options.StartTimeout, cancellationToken).ConfigureAwait(false);
            gateway.BaseUri = new Uri(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{endPoint.Port}/"));
            return gateway;
        }
        catch (TimeoutException e)
        {
            await gateway.DisposeAsync().ConfigureAwait(false);
            throw new InvalidOperationException($"the Portkey gateway did not listen within {options.StartTimeout.TotalSeconds:0} s: {gateway.LastLines()}", e);
        }
        catch
        {
            await gateway.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>The last lines the gateway wrote (for error messages).</summary>
    public string LastLines()
    {
        lock (_lastLines)
        {
            return string.Join(" | ", _lastLines);
        }
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }

            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await _process.WaitForExitAsync(wait.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is InvalidOperationException or OperationCanceledException or System.ComponentModel.Win32Exception)
        {
            // Already gone, or not reaped in time: nothing more to do.
        }
        finally
        {
            _process.Dispose();
        }
    }

    private void OnLine(string? line, bool stdout)
    {
        if (line is null)
        {
            return;
        }

        if (stdout && ListeningLine().Match(line) is { Success: true } match)
        {
            if (!IPAddress.TryParse(match.Groups["address"].ValueSpan, out var address)
                || !IPAddress.IsLoopback(address)
                || !int.TryParse(match.Groups["port"].ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture, out var port)
                || port is < 1 or > 65535)
            {
                _listening.TrySetException(new InvalidOperationException($"the Portkey gateway reported a non-loopback listener: {line}"));
                return;
            }

            _listening.TrySetResult(new IPEndPoint(address, port));
            return;
        }

        var clipped = line.Length <= 300 ? line : line[..300];
        lock (_lastLines)
        {
            if (_lastLines.Count == KeptLines)
            {
                _lastLines.Dequeue();
            }

            _lastLines.Enqueue(clipped);
        }
    }

    [GeneratedRegex(@"^portkey-listening \[?(?<address>[0-9a-fA-F:.]{2,45})\]?:(?<port>\d{1,5})$")]
    private static partial Regex ListeningLine();
}
