using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using ControlPlane.Server.Tests.Support;

namespace ControlPlane.Server.Tests.Prometheus;

/// <summary>The Debian <c>prometheus</c> package's binaries (<c>promtool</c>, <c>prometheus</c>) and the repository's
/// <c>deploy/prometheus</c> folder. A missing binary fails the test with the install hint: CI installs it
/// (<c>scripts/install-test-deps.sh</c>).</summary>
internal static class PrometheusTools
{
    public static string DeployDirectory => Path.Combine(RepositoryLayout.Root, "deploy", "prometheus");

    public static string RulesFile => Path.Combine(DeployDirectory, "controlplane-rules.yaml");

    public static string Promtool => Find("promtool");

    public static string Server => Find("prometheus");

    /// <summary>Runs <paramref name="file"/> with <paramref name="arguments"/> in <paramref name="workingDirectory"/>,
    /// feeding <paramref name="stdin"/> when given, and returns its exit code and combined output. Killed after
    /// <paramref name="timeout"/> (a test failure).</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(string file, IEnumerable<string> arguments, string workingDirectory,
        TimeSpan timeout, string? stdin = null)
    {
        var start = new ProcessStartInfo(file)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = stdin is not null,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{file} did not start.");
        var output = new StringBuilder();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            await process.StandardInput.WriteAsync(stdin);
            process.StandardInput.Close();
        }

        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{Path.GetFileName(file)} {string.Join(' ', start.ArgumentList)} ran longer than {timeout}.");
        }

        output.Append(await stdout).Append(await stderr);
        return (process.ExitCode, output.ToString());
    }

    /// <summary>Runs <c>promtool check metrics</c> on a scrape and asserts that it parsed and that every lint finding is
    /// about a family of the scrape for which <paramref name="isOurs"/> is false. promtool 2.42 also lints Orleans' and
    /// the runtime's own families ("_count" gauges, "_errors" counters without "_total", milliseconds, no help): those
    /// findings are theirs. Each finding names its family first; a line that does not (such as "error while linting:
    /// text format parsing error ...") means the scrape did not parse.</summary>
    public static async Task AssertParsesAndOnlyTheirsLintAsync(string scrape, Func<string, bool> isOurs)
    {
        var (exitCode, output) = await RunAsync(Promtool, ["check", "metrics"], DeployDirectory, TimeSpan.FromMinutes(2), stdin: scrape);
        var families = Regex.Matches(scrape, @"^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) ", RegexOptions.Multiline).Select(m => m.Groups[1].Value)
            .ToHashSet(StringComparer.Ordinal);
        var findings = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.True(exitCode == 0 || findings.All(f =>
        {
            var family = f.Split(' ', 2)[0];
            return families.Contains(family) && !isOurs(family);
        }), "promtool check metrics: a parse error or a finding on the control plane's families:\n" + output);
    }

    private static string Find(string name)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin").Split(Path.PathSeparator).Append("/usr/bin"))
        {
            var candidate = Path.Combine(dir, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException(
            $"{name} was not found on PATH. Run scripts/install-test-deps.sh (it installs the Debian prometheus package).");
    }
}
