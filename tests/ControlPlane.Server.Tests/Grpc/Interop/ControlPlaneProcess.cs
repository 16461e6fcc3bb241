using System.Diagnostics;
using System.Text;
using ControlPlane.Server.Tests.Support;

namespace ControlPlane.Server.Tests.Grpc.Interop;

/// <summary>The real <c>controlplane</c> executable on a free loopback port (it binds port 0 and prints the
/// address it got), with the Diagnostics service enabled, so independent clients talk to exactly what ships.</summary>
internal sealed class ControlPlaneProcess : IAsyncDisposable
{
    private const string ListeningPrefix = "gRPC listening on http://";
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private ControlPlaneProcess(Process process) => _process = process;

    /// <summary>HOST:PORT, the form grpc-js and grpcio take.</summary>
    public string Target { get; private set; } = "";

    /// <summary>Everything the server printed so far, for failure messages.</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public static async Task<ControlPlaneProcess> StartAsync()
    {
        var assembly = RepositoryLayout.ServerAssembly;
        if (!File.Exists(assembly))
        {
            throw new InvalidOperationException($"The controlplane server is not built at {assembly}; build tests/ControlPlane.Server.Tests (it builds the server first).");
        }

        var info = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { assembly, "--grpc-listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--storage", "memory", "--enable-diagnostics" },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = RepositoryLayout.Root,
        };
        info.Environment["Logging__LogLevel__Default"] = "Warning";
        // Every call needs a credential: the interop clients send this key (CONTROLPLANE_API_KEY, set by InteropRun).
        info.Environment[ControlPlane.Testing.TestCredentials.AdminKeyVariable] = ControlPlane.Testing.TestCredentials.AdminKey;
        var process = Process.Start(info) ?? throw new InvalidOperationException("Could not start dotnet.");
        var server = new ControlPlaneProcess(process);
        var listening = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                return;
            }

            server.Append(e.Data);
            if (e.Data.StartsWith(ListeningPrefix, StringComparison.Ordinal))
            {
                listening.TrySetResult(e.Data[ListeningPrefix.Length..].Trim().TrimEnd('/'));
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                server.Append(e.Data);
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var exited = process.WaitForExitAsync();
        var first = await Task.WhenAny(listening.Task, exited, Task.Delay(TimeSpan.FromSeconds(60)));
        if (first != listening.Task)
        {
            await server.DisposeAsync();
            throw new InvalidOperationException($"controlplane did not start listening:\n{server.Output}");
        }

        server.Target = await listening.Task;
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        await _process.WaitForExitAsync();
        _process.Dispose();
    }

    private void Append(string line)
    {
        lock (_output)
        {
            _output.AppendLine(line);
        }
    }
}
