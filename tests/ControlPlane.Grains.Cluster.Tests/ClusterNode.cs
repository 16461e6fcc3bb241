using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using ControlPlane.Grains.ClusterHost;
using ControlPlane.Grpc;
using ControlPlane.Grpc.Client;

namespace ControlPlane.Grains.Cluster.Tests;

/// <summary>One ClusterHost process and a control channel to it.</summary>
internal sealed class ClusterNode : IAsyncDisposable
{
    private const int SigTerm = 15;
    private const int SigCont = 18;
    private const int SigStop = 19;

    private readonly Process _process;
    private readonly GrpcChannel _channel;
    private readonly CallInvoker _control;

    private ClusterNode(string name, Process process, Uri address, string siloId)
    {
        Name = name;
        _process = process;
        Address = address;
        SiloId = siloId;
        _channel = GrpcChannel.ForAddress(address);
        _control = _channel.CreateCallInvoker();
    }

    public string Name { get; }

    public Uri Address { get; }

    public string SiloId { get; }

    public bool HasExited => _process.HasExited;

    public static async Task<ClusterNode> StartAsync(string name, string redisEndpoint, string prefix, ClusterTimings timings)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[]
        {
            HostPath, "--redis", redisEndpoint, "--node", name, "--prefix", prefix,
            "--lease-ms", Ms(timings.Lease), "--heartbeat-ms", Ms(timings.Heartbeat), "--drain-ms", Ms(timings.Drain),
            "--max-redirects", timings.MaxRedirects.ToString(CultureInfo.InvariantCulture),
        })
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start the cluster host.");
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                Console.Error.WriteLine($"[{name}] {e.Data}");
            }
        };
        process.BeginErrorReadLine();
        Uri? address = null;
        string? silo = null;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (address is null || silo is null)
        {
            var line = await process.StandardOutput.ReadLineAsync(timeout.Token)
                ?? throw new InvalidOperationException($"Cluster host {name} exited before it was ready (exit {WaitExit(process)}).");
            if (line.StartsWith("listening ", StringComparison.Ordinal))
            {
                address = new Uri(line["listening ".Length..]);
            }
            else if (line.StartsWith("silo ", StringComparison.Ordinal))
            {
                silo = line["silo ".Length..];
            }
        }

        // Keep draining stdout so the host never blocks on a full pipe.
        _ = Task.Run(async () =>
        {
            while (await process.StandardOutput.ReadLineAsync() is not null)
            {
            }
        });
        return new ClusterNode(name, process, address, silo);
    }

    public async Task<long> IncrementAsync(string key, CancellationToken cancellationToken = default) =>
        long.Parse(await _control.UnaryAsync(ClusterControl.Increment, key, new CallOptions(cancellationToken: cancellationToken)), CultureInfo.InvariantCulture);

    public async Task<long> GetAsync(string key) =>
        long.Parse(await _control.UnaryAsync(ClusterControl.Get, key), CultureInfo.InvariantCulture);

    public Task<string> CurrentSiloAsync() => _control.UnaryAsync(ClusterControl.Silo, "");

    public async Task<Dictionary<string, int>> ActivationsAsync() =>
        (await _control.UnaryAsync(ClusterControl.Activations, ""))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split('='))
            .ToDictionary(p => p[0], p => int.Parse(p[1], CultureInfo.InvariantCulture), StringComparer.Ordinal);

    public async Task<HashSet<string>> LiveAsync() =>
        [.. (await _control.UnaryAsync(ClusterControl.Live, "")).Split('\n', StringSplitOptions.RemoveEmptyEntries)];

    public async Task<Dictionary<string, string>> FencedAsync() =>
        (await _control.UnaryAsync(ClusterControl.Fenced, ""))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split('='))
            .ToDictionary(p => p[0], p => p[1], StringComparer.Ordinal);

    // The grains the node activated under load (polled: placement spreads the keys, activation takes a moment).
    public async Task<string[]> HeldUnderLoadAsync()
    {
        for (var attempt = 0; attempt < 300; attempt++)
        {
            if ((await LiveAsync()).Count > 0)
            {
                await Task.Delay(TimeSpan.FromSeconds(1));
                return [.. await LiveAsync()];
            }

            await Task.Delay(100);
        }

        throw new InvalidOperationException($"{Name} activated no grain under load.");
    }

    /// <summary>kill -9: no hand-off, no lease release.</summary>
    public void Kill() => _process.Kill();

    public void Freeze() => Signal(SigStop);

    public void Thaw() => Signal(SigCont);

    /// <summary>SIGTERM, then waits for the graceful exit.</summary>
    public async Task TerminateAsync()
    {
        Signal(SigTerm);
        await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
    }

    public async ValueTask DisposeAsync()
    {
        _channel.Dispose();
        if (!_process.HasExited)
        {
            Signal(SigCont);
            _process.Kill();
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    private void Signal(int signal)
    {
        if (NativeMethods.Kill(_process.Id, signal) != 0)
        {
            throw new InvalidOperationException($"kill({_process.Id}, {signal}) failed with errno {Marshal.GetLastPInvokeError()}.");
        }
    }

    private static int WaitExit(Process process)
    {
        process.WaitForExit(5000);
        return process.HasExited ? process.ExitCode : -1;
    }

    private static string Ms(TimeSpan value) => ((int)value.TotalMilliseconds).ToString(CultureInfo.InvariantCulture);

    // The host runs from its own build output (same configuration as this test assembly).
    private static string HostPath
    {
        get
        {
            var here = new DirectoryInfo(AppContext.BaseDirectory);
            var configuration = here.Parent!.Name; // bin/<Configuration>/net10.0/
            var root = here;
            while (root is not null && !File.Exists(Path.Combine(root.FullName, "ControlPlane.sln")))
            {
                root = root.Parent;
            }

            return Path.Combine(root?.FullName ?? throw new InvalidOperationException("Repository root not found."),
                "tests", "ControlPlane.Grains.ClusterHost", "bin", configuration, here.Name, "ControlPlane.Grains.ClusterHost.dll");
        }
    }

    private static class NativeMethods
    {
        [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
        public static extern int Kill(int pid, int signal);
    }
}

/// <summary>Short leases for tests; the protocol bounds the tests assert are derived from these.</summary>
internal sealed record ClusterTimings(TimeSpan Lease, TimeSpan Heartbeat, TimeSpan Drain, int MaxRedirects)
{
    public static ClusterTimings Short { get; } = new(TimeSpan.FromSeconds(3), TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(1), 8);
}
