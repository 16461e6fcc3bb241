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

    [Fact]
    public async Task In_the_folder_a_node_was_first_started_in_the_CLI_uses_the_generated_data_admin_key()
    {
        var directory = Path.Combine(Path.GetTempPath(), $"cli-first-start-{Guid.NewGuid():N}");
        Directory.CreateDirectory(directory);
        var info = Info(directory, "--grpc-listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0");
        info.Environment.Remove(TestCredentials.AdminKeyVariable);
        using var node = Process.Start(info)!;
        try
        {
            _ = node.StandardError.ReadToEndAsync();
            string? admin = null;
            using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60)))
            {
                while (await node.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
                {
                    admin = line.StartsWith("Admin listening on ", StringComparison.Ordinal) ? line["Admin listening on ".Length..] : admin;
                    if (line.StartsWith("Admin key: ", StringComparison.Ordinal))
                    {
                        break;
                    }
                }
            }

            _ = node.StandardOutput.ReadToEndAsync();
            Assert.NotNull(admin);
            Assert.True(File.Exists(Path.Combine(directory, "data", "admin.key")));

            var (exit, stdout, stderr) = await RunInAsync(directory, null, "admin", "whoami", "--url", admin, "--output", "json");

            Assert.True(exit == CliExit.Ok, $"exit {exit}\n{stdout}\n{stderr}");
            using var me = JsonDocument.Parse(stdout);
            Assert.Contains("admin", me.RootElement.GetProperty("roles").EnumerateArray().Select(r => r.GetString()));
        }
        finally
        {
            if (!node.HasExited)
            {
                node.Kill(entireProcessTree: true);
                await node.WaitForExitAsync();
            }

            Directory.Delete(directory, recursive: true);
        }
    }

    private static Task<(int Exit, string Stdout, string Stderr)> RunAsync(params string[] args) => RunAsync(null, args);

    private static Task<(int Exit, string Stdout, string Stderr)> RunAsync(IReadOnlyDictionary<string, string>? environment, params string[] args) =>
        RunInAsync(Path.GetTempPath(), environment, args);

    private static async Task<(int Exit, string Stdout, string Stderr)> RunInAsync(string directory, IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        var info = Info(directory, args);
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

    // The executable in <paramref name="directory"/>, with the test's own address and credential only.
    private static ProcessStartInfo Info(string directory, params string[] args)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = directory,
        };
        info.ArgumentList.Add(ExecutablePath);
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment.Remove(CliGlobals.UrlVariable);
        info.Environment.Remove(CliGlobals.KeyVariable);
        return info;
    }
}
