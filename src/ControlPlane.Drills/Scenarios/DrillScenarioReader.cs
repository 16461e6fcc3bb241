using System.Globalization;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace ControlPlane.Drills.Scenarios;

/// <summary>Reads a scenario file strictly: unknown fields, bad values and out-of-range numbers are errors located to
/// <c>file:line:column</c>; nothing is returned unless the whole file is valid.</summary>
public static partial class DrillScenarioReader
{
    /// <summary>Largest scenario file read (bytes).</summary>
    public const int MaxFileBytes = 256 * 1024;

    /// <summary>Most faults in one scenario.</summary>
    public const int MaxFaults = 64;

    /// <summary>Most classes with their own rate.</summary>
    public const int MaxClasses = 256;

    /// <summary>Highest rate of one class (requests per second).</summary>
    public const double MaxRps = 2_000;

    /// <summary>Longest drill.</summary>
    public static readonly TimeSpan MaxDuration = TimeSpan.FromHours(6);

    // latency: per-endpoint latency overrides the simulator reads (docs/simulator.md); the drill passes the file on.
    private static readonly string[] TopFields = ["name", "description", "duration", "seed", "traffic", "faults", "latency"];
    private static readonly string[] FaultFields = ["endpoint", "kind", "start", "end", "share", "mode", "retry_after", "tpm", "factor", "model_version", "output_factor"];
    private static readonly string[] OutageModes = ["http_500", "http_503", "refused", "reset_mid_stream"];

    /// <summary>The scenario-file name of a fault kind.</summary>
    public static string KindName(FaultKind kind) => kind switch
    {
        FaultKind.Outage => "outage",
        FaultKind.RateLimit => "rate_limit",
        FaultKind.Latency => "latency",
        FaultKind.QualityDrift => "quality_drift",
        FaultKind.ContextWindow => "context_window",
        FaultKind.ModelChange => "model_change",
        FaultKind.RunawayOutput => "runaway_output",
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    /// <summary>Reads the file at <paramref name="path"/>.</summary>
    /// <exception cref="DrillScenarioException">The file cannot be read or is not a valid scenario.</exception>
    public static DrillScenario LoadFile(string path)
    {
        string text;
        try
        {
            var info = new FileInfo(path);
            if (info.Exists && info.Length > MaxFileBytes)
            {
                throw new DrillScenarioException($"{path}: file is larger than {MaxFileBytes} bytes");
            }

            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new DrillScenarioException($"{path}: {(e is FileNotFoundException or DirectoryNotFoundException ? "file not found" : "cannot read the file: " + e.Message)}", e);
        }

        return Parse(text, path);
    }

    /// <summary>Parses <paramref name="text"/>; <paramref name="source"/> names it in errors.</summary>
    /// <exception cref="DrillScenarioException">Not a valid scenario.</exception>
    public static DrillScenario Parse(string text, string source)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length > MaxFileBytes)
        {
            throw new DrillScenarioException($"{source}: file is larger than {MaxFileBytes} bytes");
        }

        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException e)
        {
            throw new DrillScenarioException($"{source}:{e.Start.Line}:{e.Start.Column}: not valid YAML: {e.Message}", e);
        }

        var errors = new Errors(source);
        if (stream.Documents.Count != 1 || stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            throw new DrillScenarioException($"{source}:1:1: a scenario is one YAML mapping (name, duration, traffic, faults)");
        }

        errors.Unknown(root, TopFields, "");
        var name = errors.Text(root, "name", "name", required: true) ?? "";
        if (name.Length > 0 && !NamePattern().IsMatch(name))
        {
            errors.Add(Child(root, "name")!, "name", "must be 1-64 characters of a-z, 0-9, '-' or '_' (it names the report folder)");
        }

        var description = errors.Text(root, "description", "description", required: false) ?? "";
        var duration = errors.Duration(root, "duration", "duration", required: true) ?? TimeSpan.Zero;
        if (duration > MaxDuration || (duration <= TimeSpan.Zero && Child(root, "duration") is not null))
        {
            errors.Add(Child(root, "duration")!, "duration", $"must be more than 0 and at most {MaxDuration.TotalHours} h");
        }

        var seed = (int)(errors.Number(root, "seed", "seed", 0, int.MaxValue) ?? 1);
        var traffic = ReadTraffic(root, errors);
        var faults = ReadFaults(root, errors, duration);
        errors.ThrowIfAny();
        return new DrillScenario(name, description, duration, seed, traffic, faults, source);
    }

    private static TrafficPlan ReadTraffic(YamlMappingNode root, Errors errors)
    {
        if (Child(root, "traffic") is not { } node)
        {
            return new TrafficPlan(1, new Dictionary<string, double>());
        }

        if (node is not YamlMappingNode traffic)
        {
            errors.Add(node, "traffic", "must be a mapping (default_rps, classes)");
            return new TrafficPlan(1, new Dictionary<string, double>());
        }

        errors.Unknown(traffic, ["default_rps", "classes"], "traffic");
        var defaultRps = errors.Number(traffic, "default_rps", "traffic.default_rps", 0, MaxRps) ?? 1;
        var classes = new Dictionary<string, double>(StringComparer.Ordinal);
        if (Child(traffic, "classes") is { } classesNode)
        {
            if (classesNode is not YamlMappingNode map)
            {
                errors.Add(classesNode, "traffic.classes", "must be a mapping of class name to requests per second");
            }
            else if (map.Children.Count > MaxClasses)
            {
                errors.Add(map, "traffic.classes", $"at most {MaxClasses} classes");
            }
            else
            {
                foreach (var (key, _) in map.Children)
                {
                    var className = ((YamlScalarNode)key).Value ?? "";
                    if (errors.Number(map, className, $"traffic.classes.{className}", 0, MaxRps) is { } rps)
                    {
                        classes[className] = rps;
                    }
                }
            }
        }

        return new TrafficPlan(defaultRps, classes);
    }

    private static List<DrillFault> ReadFaults(YamlMappingNode root, Errors errors, TimeSpan duration)
    {
        var faults = new List<DrillFault>();
        if (Child(root, "faults") is not { } node)
        {
            return faults;
        }

        if (node is not YamlSequenceNode sequence)
        {
            errors.Add(node, "faults", "must be a list of faults");
            return faults;
        }

        if (sequence.Children.Count > MaxFaults)
        {
            errors.Add(sequence, "faults", $"at most {MaxFaults} faults");
            return faults;
        }

        for (var i = 0; i < sequence.Children.Count; i++)
        {
            var path = $"faults[{i}]";
            if (sequence.Children[i] is not YamlMappingNode f)
            {
                errors.Add(sequence.Children[i], path, "must be a mapping (endpoint, kind, start, ...)");
                continue;
            }

            errors.Unknown(f, FaultFields, path);
            var endpoint = errors.Text(f, "endpoint", path + ".endpoint", required: true) ?? "";
            var kindText = errors.Text(f, "kind", path + ".kind", required: true);
            FaultKind? kind = kindText is null ? null : ParseKind(kindText);
            if (kindText is not null && kind is null)
            {
                errors.Add(Child(f, "kind")!, path + ".kind", "must be one of outage, rate_limit, latency, quality_drift, context_window, model_change, runaway_output");
            }

            var start = errors.Duration(f, "start", path + ".start", required: true) ?? TimeSpan.Zero;
            var end = errors.Duration(f, "end", path + ".end", required: false);
            if (end is { } e && e <= start)
            {
                errors.Add(Child(f, "end")!, path + ".end", "must be after start");
            }

            if (duration > TimeSpan.Zero && start >= duration)
            {
                errors.Add(Child(f, "start")!, path + ".start", "must be before the drill's duration");
            }

            var share = errors.Number(f, "share", path + ".share", 0, 1) ?? 1.0;
            if (share <= 0)
            {
                errors.Add(Child(f, "share")!, path + ".share", "must be more than 0");
            }

            var mode = errors.Text(f, "mode", path + ".mode", required: false);
            if (mode is not null && (kind != FaultKind.Outage || !OutageModes.Contains(mode, StringComparer.Ordinal)))
            {
                errors.Add(Child(f, "mode")!, path + ".mode", "applies to outage only: http_500, http_503, refused or reset_mid_stream");
            }

            var fault = new DrillFault(endpoint, kind ?? FaultKind.Outage, start, end, share, (int)Math.Min(f.Start.Line, int.MaxValue))
            {
                Mode = mode,
                RetryAfter = errors.Duration(f, "retry_after", path + ".retry_after", required: false),
                Tpm = (long?)errors.Number(f, "tpm", path + ".tpm", 1, 1e12),
                Factor = errors.Number(f, "factor", path + ".factor", 3, 10),
                ModelVersion = errors.Text(f, "model_version", path + ".model_version", required: kind == FaultKind.ModelChange),
                OutputFactor = errors.Number(f, "output_factor", path + ".output_factor", 1, 100),
            };
            faults.Add(fault);
        }

        return faults;
    }

    private static FaultKind? ParseKind(string text) => text switch
    {
        "outage" => FaultKind.Outage,
        "rate_limit" => FaultKind.RateLimit,
        "latency" => FaultKind.Latency,
        "quality_drift" => FaultKind.QualityDrift,
        "context_window" => FaultKind.ContextWindow,
        "model_change" => FaultKind.ModelChange,
        "runaway_output" => FaultKind.RunawayOutput,
        _ => null,
    };

    /// <summary>Parses <c>250ms</c>, <c>30s</c>, <c>2m</c>, <c>1h</c> (a non-negative number and one unit).</summary>
    public static bool TryParseDuration(string text, out TimeSpan value)
    {
        value = TimeSpan.Zero;
        var match = DurationPattern().Match(text);
        if (!match.Success || !double.TryParse(match.Groups[1].Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var number))
        {
            return false;
        }

        var seconds = match.Groups[2].Value switch
        {
            "ms" => number / 1000,
            "s" => number,
            "m" => number * 60,
            _ => number * 3600,
        };
        if (!double.IsFinite(seconds) || seconds > MaxDuration.TotalSeconds * 4)
        {
            return false;
        }

        value = TimeSpan.FromSeconds(seconds);
        return true;
    }

    /// <summary>Formats <paramref name="value"/> the way the scenario file writes it (<c>12.5s</c>).</summary>
    public static string FormatDuration(TimeSpan value) =>
        value.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture) + "s";

    private static YamlNode? Child(YamlMappingNode map, string key) =>
        map.Children.TryGetValue(new YamlScalarNode(key), out var node) ? node : null;

    [GeneratedRegex("^[a-z0-9_-]{1,64}$", RegexOptions.CultureInvariant)]
    private static partial Regex NamePattern();

    [GeneratedRegex(@"^\s*([0-9]+(?:\.[0-9]+)?)\s*(ms|s|m|h)\s*$", RegexOptions.CultureInvariant)]
    private static partial Regex DurationPattern();

    private sealed class Errors(string source)
    {
        private readonly List<string> _problems = [];

        public void Add(YamlNode node, string field, string message) =>
            _problems.Add($"{source}:{node.Start.Line}:{node.Start.Column}: {field}: {message}");

        public void ThrowIfAny()
        {
            if (_problems.Count > 0)
            {
                throw new DrillScenarioException(_problems);
            }
        }

        public void Unknown(YamlMappingNode map, string[] allowed, string path)
        {
            foreach (var (key, _) in map.Children)
            {
                var name = (key as YamlScalarNode)?.Value ?? "";
                if (!allowed.Contains(name, StringComparer.Ordinal))
                {
                    Add(key, path.Length == 0 ? name : $"{path}.{name}", $"unknown field (expected one of {string.Join(", ", allowed)})");
                }
            }
        }

        public string? Text(YamlMappingNode map, string key, string field, bool required)
        {
            switch (Child(map, key))
            {
                case null:
                    if (required)
                    {
                        Add(map, field, "is required");
                    }

                    return null;
                case YamlScalarNode { Value: { Length: > 0 and <= 512 } value }:
                    return value;
                case var other:
                    Add(other, field, "must be a non-empty text of at most 512 characters");
                    return null;
            }
        }

        public double? Number(YamlMappingNode map, string key, string field, double min, double max)
        {
            switch (Child(map, key))
            {
                case null:
                    return null;
                case YamlScalarNode { Value: { } text } node:
                    if (double.TryParse(text.Replace("_", "", StringComparison.Ordinal), NumberStyles.Float, CultureInfo.InvariantCulture, out var value)
                        && double.IsFinite(value) && value >= min && value <= max)
                    {
                        return value;
                    }

                    Add(node, field, $"must be a number from {min.ToString(CultureInfo.InvariantCulture)} to {max.ToString(CultureInfo.InvariantCulture)}");
                    return null;
                case var other:
                    Add(other, field, "must be a number");
                    return null;
            }
        }

        public TimeSpan? Duration(YamlMappingNode map, string key, string field, bool required)
        {
            switch (Child(map, key))
            {
                case null:
                    if (required)
                    {
                        Add(map, field, "is required");
                    }

                    return null;
                case YamlScalarNode { Value: { } text } node:
                    if (TryParseDuration(text, out var value))
                    {
                        return value;
                    }

                    Add(node, field, "must be a duration such as 500ms, 30s, 2m or 1h");
                    return null;
                case var other:
                    Add(other, field, "must be a duration such as 30s");
                    return null;
            }
        }
    }
}
