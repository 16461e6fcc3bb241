using System.Text.RegularExpressions;
using ControlPlane.Server.Tests.Support;

namespace ControlPlane.Server.Tests.Deploy;

/// <summary>deploy/Dockerfile builds the artefact the documented publish command builds (no Docker engine in CI: the
/// publish is checked, not the image), runs it as a non-root user with <c>controlplane</c> as the entrypoint, and
/// exposes the ports the Kubernetes manifests use.</summary>
public sealed partial class DockerfileTests
{
    private static readonly string Dockerfile = Path.Combine(RepositoryLayout.Root, "deploy", "Dockerfile");

    /// <summary>The instructions of the Dockerfile, continuation lines joined, comments dropped.</summary>
    private static List<(string Instruction, string Arguments)> Instructions()
    {
        var joined = Regex.Replace(File.ReadAllText(Dockerfile), @"\\\r?\n", " ");
        return joined.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#'))
            .Select(l => l.Split(' ', 2, StringSplitOptions.TrimEntries)).Select(p => (p[0].ToUpperInvariant(), p.Length > 1 ? p[1] : "")).ToList();
    }

    /// <summary>The `dotnet publish` command the build stage runs.</summary>
    internal static string PublishCommand() =>
        Normalize(Assert.Single(Instructions(), i => i.Instruction == "RUN" && i.Arguments.Contains("dotnet publish", StringComparison.Ordinal)).Arguments);

    private static string Normalize(string command) => MultipleSpaces().Replace(command.Trim(), " ");

    [Fact]
    public void The_build_stage_runs_the_documented_publish_command()
    {
        // README.md and docs/operations.md: every `dotnet publish` line shown there is the Dockerfile's.
        var documented = new[] { "README.md", Path.Combine("docs", "operations.md") }
            .Select(f => Path.Combine(RepositoryLayout.Root, f)).Where(File.Exists)
            .SelectMany(f => File.ReadLines(f).Select(l => l.Trim()).Where(l => l.StartsWith("dotnet publish ", StringComparison.Ordinal)).Select(l => (File: f, Command: Normalize(l))))
            .ToList();

        Assert.NotEmpty(documented);
        var publish = PublishCommand();
        Assert.All(documented, d => Assert.True(d.Command == publish, $"{Path.GetFileName(d.File)} says `{d.Command}`, deploy/Dockerfile runs `{publish}`"));
        Assert.Matches(@"^dotnet publish src/ControlPlane\.Server -c Release -o \S+$", publish);
    }

    [Fact]
    public void The_runtime_stage_runs_controlplane_as_a_non_root_user_on_the_manifests_ports()
    {
        var instructions = Instructions();
        var stages = instructions.Select((i, n) => (i, n)).Where(x => x.i.Instruction == "FROM").Select(x => x.n).ToList();
        Assert.True(stages.Count >= 2, "multi-stage: an SDK build stage and a runtime stage");
        Assert.StartsWith("mcr.microsoft.com/dotnet/sdk:10.0", instructions[stages[0]].Arguments, StringComparison.Ordinal);
        var runtime = instructions.Skip(stages[^1]).ToList();
        Assert.StartsWith("mcr.microsoft.com/dotnet/aspnet:10.0", runtime[0].Arguments, StringComparison.Ordinal);

        // USER: numeric and not root (Kubernetes' runAsNonRoot can only verify a numeric user).
        var user = Assert.Single(runtime, i => i.Instruction == "USER").Arguments;
        var uid = Regex.Match(user, @"^\$\{(\w+)\}$") is { Success: true } m
            ? Regex.Match(string.Join('\n', runtime.Where(i => i.Instruction == "ARG").Select(i => i.Arguments)), m.Groups[1].Value + @"=(\d+)").Groups[1].Value
            : user;
        Assert.True(int.TryParse(uid, out var id) && id > 0, $"USER {user} must be a non-zero numeric UID");
        Assert.Equal(1654, id); // the runAsUser of deploy/k8s/base/deployment.yaml

        var entrypoint = Assert.Single(runtime, i => i.Instruction == "ENTRYPOINT").Arguments;
        Assert.Equal("[\"/app/controlplane\"]", entrypoint);
        Assert.DoesNotContain(runtime, i => i.Instruction == "HEALTHCHECK");
        var exposed = Assert.Single(runtime, i => i.Instruction == "EXPOSE").Arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).Order();
        Assert.Equal([8080, 11111, 30000, 50051], exposed);

        // The runtime stage copies what the publish wrote.
        var output = Regex.Match(PublishCommand(), @"-o (\S+)$").Groups[1].Value;
        Assert.Contains(runtime, i => i.Instruction == "COPY" && i.Arguments.StartsWith("--from=build ", StringComparison.Ordinal)
            && i.Arguments.Split(' ')[1].TrimEnd('/').EndsWith("/" + output.TrimEnd('/'), StringComparison.Ordinal));
    }

    [Fact]
    public void The_docker_context_leaves_build_outputs_and_secrets_out()
    {
        var ignored = File.ReadAllLines(Path.Combine(RepositoryLayout.Root, ".dockerignore")).Select(l => l.Trim()).ToHashSet();

        Assert.Superset(new HashSet<string> { "**/bin/", "**/obj/", ".git/", "**/node_modules/", "**/admin.key" }, ignored);
        // What the build stage copies must not be ignored.
        Assert.DoesNotContain("src/", ignored);
        Assert.DoesNotContain("protos/", ignored);
    }

    /// <summary>SLOW (a Release publish of the server, ~1-4 min; incremental on the test build's obj/): runs the Dockerfile's
    /// publish command with its output in a temporary folder and runs the published `controlplane --help`.</summary>
    [Fact]
    [Trait("Category", "Slow")]
    public void SLOW_the_Dockerfiles_publish_yields_a_runnable_controlplane_executable()
    {
        var dotnet = RenderedOverlay.Tool("dotnet") ?? Path.Combine(Path.GetDirectoryName(Environment.ProcessPath)!, "dotnet");
        var output = Directory.CreateTempSubdirectory("cp-publish-").FullName;
        try
        {
            var args = PublishCommand().Split(' ').Skip(1).ToList();
            var o = args.IndexOf("-o");
            args[o + 1] = output;
            var (code, stdout, stderr) = RenderedOverlay.Run(dotnet, [.. args, "-nologo", "-v", "q"], null, timeout: TimeSpan.FromMinutes(12));
            Assert.True(code == 0, $"dotnet {string.Join(' ', args)} failed ({code}):\n{stdout}\n{stderr}");

            var executable = Path.Combine(output, "controlplane");
            Assert.True(File.Exists(executable), "the publish must yield the `controlplane` apphost (AssemblyName controlplane)");
            if (!OperatingSystem.IsWindows())
            {
                Assert.True((File.GetUnixFileMode(executable) & UnixFileMode.UserExecute) != 0, "controlplane must be executable");
            }

            Assert.True(File.Exists(Path.Combine(output, "fleet.sample.yaml")), "the sample fleet travels with the executable");

            var (helpCode, help, helpErrors) = RenderedOverlay.Run(executable, ["--help"], null, workingDirectory: output);
            Assert.True(helpCode == 0, $"controlplane --help exited {helpCode}: {helpErrors}");
            Assert.Contains("Usage: controlplane", help, StringComparison.Ordinal);
            Assert.Contains("--kubernetes", help, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(output, recursive: true);
        }
    }

    [GeneratedRegex(" {2,}")]
    private static partial Regex MultipleSpaces();
}
