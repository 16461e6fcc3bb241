using System.Diagnostics;
using System.Text.Json;
using ControlPlane.Server.Tests.Support;

namespace ControlPlane.Server.Tests.Deploy;

/// <summary>A kustomize overlay of <c>deploy/k8s/overlays</c> rendered by <c>kubectl kustomize</c> and validated offline
/// against the Kubernetes schemas by <c>deploy/validate/validate.js</c> (npm kubernetes-models), as CI does. Nothing is
/// installed here: without kubectl or the npm packages (scripts/install-test-deps.sh) the tests fail saying so.</summary>
internal sealed class RenderedOverlay
{
    public static readonly string[] Regions = ["us-east", "eu-west"];

    /// <summary>The Prometheus rules file another part of the product provides; until it exists, rendering uses a copy of
    /// <c>deploy/</c> holding an empty rule group in its place (<see cref="RulesStubbed"/>).</summary>
    public static string RulesFile => Path.Combine(RepositoryLayout.Root, "deploy", "prometheus", "controlplane-rules.yaml");

    private static readonly Dictionary<string, Lazy<RenderedOverlay>> Cache =
        Regions.ToDictionary(r => r, r => new Lazy<RenderedOverlay>(() => Render(r), LazyThreadSafetyMode.ExecutionAndPublication));

    private RenderedOverlay(string region, IReadOnlyList<JsonElement> objects, int validateExitCode, string validateErrors, bool rulesStubbed)
    {
        Region = region;
        Objects = objects;
        ValidateExitCode = validateExitCode;
        ValidateErrors = validateErrors;
        RulesStubbed = rulesStubbed;
    }

    public string Region { get; }

    /// <summary>Every rendered object, as JSON.</summary>
    public IReadOnlyList<JsonElement> Objects { get; }

    /// <summary>The schema validator's exit code (0: every object valid) and its problems, one a line.</summary>
    public int ValidateExitCode { get; }

    public string ValidateErrors { get; }

    /// <summary>True when deploy/prometheus/controlplane-rules.yaml does not exist (yet) and a stub stood in for it.</summary>
    public bool RulesStubbed { get; }

    public static RenderedOverlay For(string region) => Cache[region].Value;

    /// <summary>The single object of <paramref name="kind"/> (and <paramref name="name"/>, or a name starting with it for
    /// generated ConfigMaps when <paramref name="prefix"/>).</summary>
    public JsonElement Single(string kind, string name, bool prefix = false) =>
        Assert.Single(Objects, o => Kind(o) == kind && (prefix ? Name(o).StartsWith(name + "-", StringComparison.Ordinal) || Name(o) == name : Name(o) == name));

    public IEnumerable<JsonElement> OfKind(string kind) => Objects.Where(o => Kind(o) == kind);

    public static string Kind(JsonElement o) => o.GetProperty("kind").GetString()!;

    public static string Name(JsonElement o) => o.GetProperty("metadata").GetProperty("name").GetString()!;

    private static RenderedOverlay Render(string region)
    {
        var kubectl = Tool("kubectl") ?? throw new InvalidOperationException(
            "kubectl is not installed: CI renders the kustomize overlays with `kubectl kustomize` (kubectl client >= 1.27, preinstalled on the CI image). Install kubectl to run the deploy checks.");
        var validator = Path.Combine(RepositoryLayout.Root, "deploy", "validate");
        if (!Directory.Exists(Path.Combine(validator, "node_modules", "kubernetes-models")))
        {
            throw new InvalidOperationException("deploy/validate/node_modules is missing: run `bash scripts/install-test-deps.sh` (npm ci there).");
        }

        var deploy = Path.Combine(RepositoryLayout.Root, "deploy");
        string? scratch = null;
        var stubbed = !File.Exists(RulesFile);
        if (stubbed)
        {
            // The rules arrive from another branch; render a copy with an empty rule group in their place meanwhile.
            scratch = Directory.CreateTempSubdirectory("cp-deploy-").FullName;
            CopyTree(deploy, Path.Combine(scratch, "deploy"));
            File.WriteAllText(Path.Combine(scratch, "deploy", "prometheus", "controlplane-rules.yaml"), "groups: []\n");
            deploy = Path.Combine(scratch, "deploy");
        }

        try
        {
            var (code, yaml, errors) = Run(kubectl, ["kustomize", Path.Combine(deploy, "k8s", "overlays", region)], null);
            if (code != 0)
            {
                throw new InvalidOperationException($"kubectl kustomize deploy/k8s/overlays/{region} failed ({code}): {errors}");
            }

            var node = Tool("node") ?? throw new InvalidOperationException("node is not installed: the schema validator (deploy/validate) runs on Node.js.");
            var (validateCode, json, validateErrors) = Run(node, [Path.Combine(validator, "validate.js"), "--json"], yaml);
            using var document = JsonDocument.Parse(json.Length == 0 ? "[]" : json);
            var objects = document.RootElement.EnumerateArray().Select(e => e.Clone()).ToList();
            return new RenderedOverlay(region, objects, validateCode, validateErrors, stubbed);
        }
        finally
        {
            if (scratch is not null)
            {
                Directory.Delete(scratch, recursive: true);
            }
        }
    }

    private static void CopyTree(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.EnumerateFiles(from))
        {
            File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        }

        foreach (var dir in Directory.EnumerateDirectories(from))
        {
            if (Path.GetFileName(dir) != "node_modules")
            {
                CopyTree(dir, Path.Combine(to, Path.GetFileName(dir)));
            }
        }
    }

    internal static string? Tool(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, name)).FirstOrDefault(File.Exists);

    internal static (int Code, string Stdout, string Stderr) Run(string file, IEnumerable<string> args, string? stdin, string? workingDirectory = null,
        TimeSpan? timeout = null)
    {
        var start = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = stdin is not null,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? RepositoryLayout.Root,
        };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            process.StandardInput.Write(stdin);
            process.StandardInput.Close();
        }

        if (!process.WaitForExit(timeout ?? TimeSpan.FromMinutes(2)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', start.ArgumentList)} did not finish in time.");
        }

        return (process.ExitCode, stdout.GetAwaiter().GetResult(), stderr.GetAwaiter().GetResult());
    }
}
