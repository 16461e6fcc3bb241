using System.Globalization;
using ControlPlane.Drills.Scenarios;
using ControlPlane.Drills.Stack;
using ControlPlane.Fleet;

namespace ControlPlane.Drills;

/// <summary><c>controlplane drill SCENARIO [--out DIR] [--short] [--cluster 3] [--target proxy|portkey]
/// [--replicas N] [--fleet FILE]</c>: exit code 0 when every target held, 1 when one failed, 2 on bad usage or a bad
/// scenario/fleet file, 3 when the drill could not run.</summary>
public static class DrillCommand
{
    /// <summary>The verb after <c>controlplane</c>.</summary>
    public const string Verb = "drill";

    /// <summary>The usage text.</summary>
    public const string Usage = """
        usage: controlplane drill SCENARIO [--out DIR] [--short] [--cluster 1|3] [--target proxy|portkey] [--replicas N] [--fleet FILE]
          SCENARIO      a name under deploy/drills/ (outage, rate-limit, latency, quality-drift, context-window,
                        model-change, runaway-output, bad-day) or a path to a scenario file
          --out DIR     report folder root (default artifacts/drills); the report goes to DIR/<scenario>/
          --short       CI timing: times ÷3, each fault at least 30 s, the recovery window kept
          --cluster N   control plane nodes: 1 (embedded, default) or 3 (a cluster on a local redis-server)
          --target T    what the traffic goes through (default proxy)
          --replicas N  replicas of the target (1..8, default 1)
          --fleet FILE  the fleet (default deploy/fleet.sample.yaml)
        """;

    /// <summary>Parses <paramref name="args"/> into options; null and an error when they are not valid.</summary>
    public static DrillRunOptions? Parse(IReadOnlyList<string> args, string currentDirectory, out string? error)
    {
        error = null;
        string? scenario = null, fleet = null, outDir = null, target = null;
        bool isShort = false;
        int cluster = 1, replicas = 1;
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            string? Value()
            {
                if (i + 1 >= args.Count)
                {
                    return null;
                }

                return args[++i];
            }

            switch (arg)
            {
                case "--short":
                    isShort = true;
                    break;
                case "--out":
                    outDir = Value();
                    if (outDir is null)
                    {
                        error = "--out: a folder is required";
                        return null;
                    }

                    break;
                case "--fleet":
                    fleet = Value();
                    if (fleet is null)
                    {
                        error = "--fleet: a file is required";
                        return null;
                    }

                    break;
                case "--target":
                    target = Value();
                    if (target is not { Length: > 0 and <= 32 })
                    {
                        error = "--target: a target name is required (proxy, portkey)";
                        return null;
                    }

                    break;
                case "--cluster":
                    if (!int.TryParse(Value(), NumberStyles.None, CultureInfo.InvariantCulture, out cluster) || cluster is not (1 or 3))
                    {
                        error = "--cluster: must be 1 or 3";
                        return null;
                    }

                    break;
                case "--replicas":
                    if (!int.TryParse(Value(), NumberStyles.None, CultureInfo.InvariantCulture, out replicas) || replicas < 1 || replicas > DrillRunOptions.MaxReplicas)
                    {
                        error = $"--replicas: must be 1 to {DrillRunOptions.MaxReplicas}";
                        return null;
                    }

                    break;
                default:
                    if (arg.StartsWith("--", StringComparison.Ordinal) || scenario is not null)
                    {
                        error = $"unexpected argument '{arg}'";
                        return null;
                    }

                    scenario = arg;
                    break;
            }
        }

        if (scenario is null)
        {
            error = "a scenario is required";
            return null;
        }

        var scenarioPath = ResolveScenario(scenario, currentDirectory);
        if (scenarioPath is null)
        {
            error = $"scenario '{scenario}' is neither a file nor a name under deploy/drills/";
            return null;
        }

        var fleetPath = fleet ?? FindUp(currentDirectory, Path.Combine("deploy", "fleet.sample.yaml")) ?? Path.Combine(AppContext.BaseDirectory, "fleet.sample.yaml");
        return new DrillRunOptions
        {
            ScenarioPath = scenarioPath,
            FleetPath = fleetPath,
            OutputDirectory = outDir ?? Path.Combine(currentDirectory, "artifacts", "drills"),
            Short = isShort,
            ClusterNodes = cluster,
            Target = target ?? "proxy",
            Replicas = replicas,
        };
    }

    /// <summary>A path as given, or <c>deploy/drills/NAME.yaml</c> found from <paramref name="currentDirectory"/> up
    /// (or next to the executable, under <c>drills/</c>).</summary>
    public static string? ResolveScenario(string scenario, string currentDirectory)
    {
        if (File.Exists(Path.Combine(currentDirectory, scenario)))
        {
            return Path.GetFullPath(Path.Combine(currentDirectory, scenario));
        }

        if (scenario.Contains('/', StringComparison.Ordinal) || scenario.Contains('\\', StringComparison.Ordinal) || scenario.Contains("..", StringComparison.Ordinal))
        {
            return null;
        }

        var name = scenario.EndsWith(".yaml", StringComparison.Ordinal) ? scenario : scenario + ".yaml";
        var besideExecutable = Path.Combine(AppContext.BaseDirectory, "drills", name);
        return FindUp(currentDirectory, Path.Combine("deploy", "drills", name)) ?? (File.Exists(besideExecutable) ? besideExecutable : null);
    }

    private static string? FindUp(string directory, string relative)
    {
        for (var dir = new DirectoryInfo(directory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, relative);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    /// <summary>Runs the command; returns the exit code.</summary>
    public static async Task<int> RunAsync(IReadOnlyList<string> args, DrillComponents components, TextWriter stderr, bool interactive, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(stderr);
        if (args.Count == 1 && args[0] is "--help" or "-h")
        {
            await stderr.WriteLineAsync(Usage).ConfigureAwait(false);
            return 0;
        }

        var options = Parse(args, Environment.CurrentDirectory, out var error);
        if (options is null)
        {
            await stderr.WriteLineAsync($"controlplane drill: {error}").ConfigureAwait(false);
            await stderr.WriteLineAsync(Usage).ConfigureAwait(false);
            return 2;
        }

        try
        {
            var summary = await new DrillRunner(components, stderr, interactive).RunAsync(options, cancellationToken).ConfigureAwait(false);
            return summary.Pass ? 0 : 1;
        }
        catch (Exception e) when (e is DrillScenarioException or FleetConfigException or ArgumentException)
        {
            await stderr.WriteLineAsync($"controlplane drill: {e.Message}").ConfigureAwait(false);
            return 2;
        }
        catch (Exception e) when (e is InvalidOperationException or HttpRequestException or IOException or NotSupportedException)
        {
            await stderr.WriteLineAsync($"controlplane drill: the drill could not run: {e.Message}").ConfigureAwait(false);
            return 3;
        }
    }
}
