using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace ControlPlane.Server.Tests.Grpc.Interop;

/// <summary>One run of an independent interop client: its per-case JSON lines, or why it could not run.</summary>
internal sealed class InteropRun
{
    private static readonly TimeSpan RunTimeout = TimeSpan.FromSeconds(120);
    private readonly Dictionary<string, (bool Ok, string Detail)> _results = new(StringComparer.Ordinal);

    private InteropRun(string client, string? setupError, string output)
    {
        Client = client;
        SetupError = setupError;
        Output = output;
    }

    public string Client { get; }

    /// <summary>Set when the client's toolchain is missing or the run failed as a whole.</summary>
    public string? SetupError { get; }

    public string Output { get; }

    public static InteropRun SetupFailed(string client, string error) => new(client, error, "");

    /// <summary>Runs <paramref name="fileName"/> with <paramref name="arguments"/>, collecting JSON result lines.</summary>
    public static async Task<InteropRun> RunAsync(string client, string fileName, string workingDirectory, params string[] arguments)
    {
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
            StandardOutputEncoding = Encoding.UTF8,
        };
        foreach (var a in arguments)
        {
            info.ArgumentList.Add(a);
        }

        // The credential the clients send as authorization: Bearer (the node's all-roles test key).
        info.Environment["CONTROLPLANE_API_KEY"] = ControlPlane.Testing.TestCredentials.AdminKey;

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"Could not start {fileName}.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(RunTimeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            return new InteropRun(client, $"{client} did not finish within {RunTimeout.TotalSeconds} s.", await stdout + await stderr);
        }

        var output = await stdout;
        var errors = await stderr;
        var run = new InteropRun(client, null, output + errors);
        foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!line.StartsWith('{'))
            {
                continue;
            }

            using var doc = JsonDocument.Parse(line);
            var root = doc.RootElement;
            run._results[root.GetProperty("case").GetString()!] = (root.GetProperty("ok").GetBoolean(), root.GetProperty("detail").GetString() ?? "");
        }

        return run._results.Count == 0
            ? new InteropRun(client, $"{client} exited with {process.ExitCode} and reported no case results.", output + errors)
            : run;
    }

    /// <summary>Fails the calling test unless <paramref name="caseName"/> ran and passed.</summary>
    public void AssertPassed(string caseName)
    {
        if (SetupError is not null)
        {
            Assert.Fail($"{SetupError}\n{Output}");
        }

        Assert.True(_results.TryGetValue(caseName, out var result), $"{Client} reported no result for case '{caseName}'.\n{Output}");
        Assert.True(result.Ok, $"{Client} case '{caseName}' failed: {result.Detail}");
    }
}
