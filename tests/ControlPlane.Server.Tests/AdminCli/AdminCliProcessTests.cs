using System.Diagnostics;
using System.Text.Json;
using ControlPlane.Server.AdminCli;
using ControlPlane.Server.Tests.Grpc;
using ControlPlane.Testing;

namespace ControlPlane.Server.Tests.AdminCli;

/// <summary>The real executable: <c>dotnet controlplane.dll admin ...</c> as a process against a running node.</summary>
public sealed class AdminCliProcessTests(NodeFixture fixture) : IClassFixture<NodeFixture>
{
    private static readonly string ExecutablePath = Path.Combine(AppContext.BaseDirectory, "controlplane.dll");

    [Fact]
    public async Task Admin_fleet_show_runs_as_a_process_and_exits_0_with_the_fleet()
    {
        // The credential from the environment, as a script would give it.
        var (exit, stdout, stderr) = await RunAsync(new Dictionary<string, string> { [CliGlobals.KeyVariable] = TestCredentials.AdminKey },
            "admin", "fleet", "show", "--url", fixture.Node.AdminAddress.ToString());

        Assert.True(exit == CliExit.Ok, $"exit {exit}\n{stdout}\n{stderr}");
        Assert.Contains("openai-gpt4o-us", stdout, StringComparison.Ordinal);
        Assert.Contains("customer_chat", stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("listening", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Admin_json_output_of_the_process_parses_a_refusal_exits_2_and_no_credential_exits_3()
    {
        var url = fixture.Node.AdminAddress.ToString();
        var (exit, stdout, stderr) = await RunAsync("admin", "--output", "json", "endpoint", "show", "openai-gpt4o-us", "--url", url, "--key", TestCredentials.AdminKey);
        var (refusedExit, _, refusedError) = await RunAsync("admin", "endpoint", "show", "nope", "--url", url, "--key", TestCredentials.AdminKey);
        var (anonymousExit, _, anonymousError) = await RunAsync("admin", "fleet", "show", "--url", url);

        Assert.True(exit == CliExit.Ok, $"exit {exit}\n{stdout}\n{stderr}");
        using var document = JsonDocument.Parse(stdout);
        Assert.Equal("openai-gpt4o-us", document.RootElement.GetProperty("id").GetString());
        Assert.Equal(CliExit.Refused, refusedExit);
        Assert.Contains("field: id", refusedError, StringComparison.Ordinal);
        Assert.Equal(CliExit.Denied, anonymousExit);
        Assert.Contains("not authenticated (401)", anonymousError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_node_help_points_to_the_admin_CLI_whose_help_lists_the_exit_codes()
    {
        var (nodeExit, nodeHelp, _) = await RunAsync("--help");
        var (adminExit, adminHelp, _) = await RunAsync("admin", "--help");

        Assert.Equal(0, nodeExit);
        Assert.Contains("controlplane admin <command>", nodeHelp, StringComparison.Ordinal);
        Assert.Equal(0, adminExit);
        Assert.Contains("5 audit verify found a broken chain", adminHelp, StringComparison.Ordinal);
    }

    private static Task<(int Exit, string Stdout, string Stderr)> RunAsync(params string[] args) => RunAsync(null, args);

    private static async Task<(int Exit, string Stdout, string Stderr)> RunAsync(IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetTempPath(),
        };
        info.ArgumentList.Add(ExecutablePath);
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        // The test's own address and credential only.
        info.Environment.Remove(CliGlobals.UrlVariable);
        info.Environment.Remove(CliGlobals.KeyVariable);
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[name] = value;
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }

        return (process.ExitCode, await stdout, await stderr);
    }
}
