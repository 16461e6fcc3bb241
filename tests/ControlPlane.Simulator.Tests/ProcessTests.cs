using System.Diagnostics;
using System.Text.Json;
using ControlPlane.Simulator.Tests.Support;

namespace ControlPlane.Simulator.Tests;

/// <summary>The simulator as the drills and the Portkey comparison launch it: a process with flags.</summary>
public sealed class ProcessTests
{
    private static readonly string Dll = Path.Combine(AppContext.BaseDirectory, "ControlPlane.Simulator.dll");

    [Fact]
    public async Task RunsFromTheCommandLineWritesUpstreamsAndStopsCleanlyOnSigterm()
    {
        string dir = Path.Combine(Path.GetTempPath(), "sim-cli-" + Guid.NewGuid().ToString("N"));
        string upstreams = Path.Combine(dir, "upstreams.json");
        using var process = Start("--fleet", SimRun.FleetPath, "--upstreams-out", upstreams, "--latency-scale", "0", "--seed", "3");
        try
        {
            await SimRun.EventuallyAsync(() => Task.FromResult(File.Exists(upstreams) || process.HasExited), "the upstreams file");
            if (process.HasExited)
            {
                Assert.Fail("the simulator exited: " + await process.StandardError.ReadToEndAsync());
            }

            var endpoints = JsonDocument.Parse(await File.ReadAllTextAsync(upstreams)).RootElement.GetProperty("endpoints");
            var url = new Uri(endpoints.GetProperty("ep-openai").GetProperty("url").GetString()!);
            using var http = new HttpClient();
            using var response = await http.PostAsync(new Uri(url, "/v1/chat/completions"), new StringContent(SimRun.ChatBody("cli"), System.Text.Encoding.UTF8, "application/json"));
            Assert.Contains(ControlPlane.Simulator.Generation.AnswerText.Expected("cli"), await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);

            using (var term = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await term.WaitForExitAsync();
            }

            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await process.WaitForExitAsync(timeout.Token);
            Assert.Equal(0, process.ExitCode);
            Assert.Contains("simulator: seed 3, admin http://127.0.0.1:", await process.StandardOutput.ReadToEndAsync(), StringComparison.Ordinal);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }

            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task ABrokenScenarioExitsWithCode2AndEveryProblemAtItsPosition()
    {
        string scenario = Path.Combine(AppContext.BaseDirectory, "Scenarios", "broken.yaml");
        using var process = Start("--fleet", SimRun.FleetPath, "--scenario", scenario);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        string stderr = await process.StandardError.ReadToEndAsync(timeout.Token);
        await process.WaitForExitAsync(timeout.Token);
        Assert.Equal(2, process.ExitCode);
        Assert.Contains($"{scenario}:6:11: faults[0].mode: unknown mode 'http_502'", stderr, StringComparison.Ordinal);
        Assert.Contains($"{scenario}:14:10: faults[2].end: must be after start (30s)", stderr, StringComparison.Ordinal);
    }

    private static Process Start(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Dll);
        foreach (string arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        return Process.Start(start)!;
    }
}
