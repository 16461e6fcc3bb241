using System.Collections.Immutable;
using ControlPlane.Fleet;
using ControlPlane.Fleet.Yaml;

namespace ControlPlane.Simulator.Scenario;

/// <summary>
/// Loads a scenario file (<c>docs/simulator.md</c>). All or nothing: a valid <see cref="SimulatorScenario"/> or one
/// <see cref="ScenarioFileException"/> listing every problem as <c>file:line:column: field.path: message</c>.
/// </summary>
public static class ScenarioLoader
{
    /// <summary>The most faults one scenario may script.</summary>
    public const int MaxFaults = 1000;

    /// <summary>The most entries of <c>traffic.classes</c> and of <c>latency</c>.</summary>
    public const int MaxMapEntries = 10_000;

    /// <summary>The highest request rate of one class (requests per second).</summary>
    public const double MaxRps = 100_000;

    private static readonly string[] TopKeys = ["name", "description", "duration", "seed", "traffic", "faults", "latency"];

    /// <summary>Loads the file at <paramref name="path"/>; <paramref name="endpointIds"/> (when given) are the ids faults may name.</summary>
    /// <exception cref="ScenarioFileException">The file cannot be read, is not valid YAML, or does not validate.</exception>
    public static SimulatorScenario LoadFile(string path, IReadOnlySet<string>? endpointIds = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        try
        {
            using var reader = new StreamReader(path, detectEncodingFromByteOrderMarks: true);
            return Load(reader, path, endpointIds);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            string problem = e is FileNotFoundException or DirectoryNotFoundException ? "file not found" : "cannot read the file: " + e.Message;
            throw new ScenarioFileException([new FleetConfigError(path, 0, 0, "", problem)], e);
        }
    }

    /// <summary>Loads YAML from <paramref name="reader"/>; <paramref name="sourceName"/> names it in errors.</summary>
    /// <exception cref="ScenarioFileException">The text is not valid YAML or does not validate.</exception>
    public static SimulatorScenario Load(TextReader reader, string sourceName, IReadOnlySet<string>? endpointIds = null)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentException.ThrowIfNullOrWhiteSpace(sourceName);
        var errors = new ConfigErrorSink(sourceName);
        var root = ConfigDocument.Read(reader, errors);
        SimulatorScenario? scenario = null;
        if (root is null)
        {
            if (errors.Count == 0)
            {
                errors.Add(new SourcePosition(1, 1), "", "the file is empty");
            }
        }
        else
        {
            scenario = Bind(root, errors, endpointIds);
        }

        if (scenario is null || errors.Count > 0)
        {
            throw new ScenarioFileException(errors.ToList());
        }

        return scenario;
    }

    private static SimulatorScenario? Bind(ConfigNode root, ConfigErrorSink errors, IReadOnlySet<string>? endpointIds)
    {
        var top = MappingReader.Create(root, "", errors, TopKeys);
        if (top is null)
        {
            return null;
        }

        string name = "";
        if (top.Required("name") is { } nameNode)
        {
            ScalarValues.TryIdentifier(nameNode, "name", errors, out name);
        }

        string description = "";
        if (top.Optional("description") is { } descriptionNode)
        {
            ScalarValues.TryString(descriptionNode, "description", errors, out description);
        }

        TimeSpan? duration = null;
        if (top.Optional("duration") is { } durationNode && ReadDuration(durationNode, "duration", errors) is { } parsedDuration)
        {
            if (parsedDuration <= TimeSpan.Zero)
            {
                errors.Add(durationNode, "duration", "must be greater than 0s");
            }

            duration = parsedDuration;
        }

        int? seed = null;
        if (top.Optional("seed") is { } seedNode && ScalarValues.TryInt32(seedNode, "seed", errors, out int parsedSeed))
        {
            seed = parsedSeed;
        }

        var traffic = top.Optional("traffic") is { } trafficNode ? ReadTraffic(trafficNode, errors) : ScenarioTraffic.None;
        var faultsNode = top.Optional("faults");
        var faults = faultsNode is null ? [] : ReadFaults(faultsNode, errors, endpointIds);
        var latency = top.Optional("latency") is { } latencyNode
            ? ReadLatency(latencyNode, errors, endpointIds)
            : ImmutableDictionary<string, LatencyOverride>.Empty;

        if (duration is { } length)
        {
            // Only when every fault parsed do the indexes of faults and of the file's items match.
            if (faultsNode is SequenceNode sequence && sequence.Items.Count == faults.Length)
            {
                for (int i = 0; i < faults.Length; i++)
                {
                    if (faults[i].Start >= length)
                    {
                        errors.Add(sequence.Items[i], $"faults[{i}].start", $"starts at or after the scenario's end ({FaultFields.Format(length)})");
                    }
                }
            }
        }

        return new SimulatorScenario
        {
            Name = name,
            Description = description,
            Duration = duration,
            Seed = seed,
            Traffic = traffic,
            Faults = faults,
            Latency = latency,
        };
    }

    private static ScenarioTraffic ReadTraffic(ConfigNode node, ConfigErrorSink errors)
    {
        var traffic = MappingReader.Create(node, "traffic", errors, "default_rps", "classes");
        if (traffic is null)
        {
            return ScenarioTraffic.None;
        }

        double defaultRps = 0;
        if (traffic.Optional("default_rps") is { } defaultNode)
        {
            defaultRps = ReadRps(defaultNode, "traffic.default_rps", errors);
        }

        var classes = ImmutableDictionary.CreateBuilder<string, double>(StringComparer.Ordinal);
        if (traffic.Optional("classes") is { } classesNode)
        {
            if (classesNode is not MappingNode mapping)
            {
                errors.Add(classesNode, "traffic.classes", $"expected a mapping of class name to requests per second, got {classesNode.Describe()}");
            }
            else if (mapping.Entries.Count > MaxMapEntries)
            {
                errors.Add(classesNode, "traffic.classes", $"at most {MaxMapEntries} classes");
            }
            else
            {
                foreach (var (key, value) in mapping.Entries)
                {
                    string path = "traffic.classes." + key.Value;
                    if (!ScalarValues.TryIdentifier(key, path, errors, out string className))
                    {
                        continue;
                    }

                    if (classes.ContainsKey(className))
                    {
                        errors.Add(key, path, "duplicate class");
                        continue;
                    }

                    classes[className] = ReadRps(value, path, errors);
                }
            }
        }

        return new ScenarioTraffic(defaultRps, classes.ToImmutable());
    }

    private static double ReadRps(ConfigNode node, string path, ConfigErrorSink errors)
    {
        if (!ScalarValues.TryDouble(node, path, errors, out double rps))
        {
            return 0;
        }

        if (rps is < 0 or > MaxRps)
        {
            errors.Add(node, path, $"must be between 0 and {MaxRps} requests per second");
            return 0;
        }

        return rps;
    }

    private static ImmutableArray<FaultSpec> ReadFaults(ConfigNode node, ConfigErrorSink errors, IReadOnlySet<string>? endpointIds)
    {
        if (ScalarValues.TryList(node, "faults", errors) is not { } items)
        {
            return [];
        }

        if (items.Count > MaxFaults)
        {
            errors.Add(node, "faults", $"at most {MaxFaults} faults");
            return [];
        }

        var faults = ImmutableArray.CreateBuilder<FaultSpec>();
        for (int i = 0; i < items.Count; i++)
        {
            string path = $"faults[{i}]";
            var fault = MappingReader.Create(items[i], path, errors, FaultFields.Keys);
            if (fault is null)
            {
                continue;
            }

            var fields = new Dictionary<string, RawField>(StringComparer.Ordinal);
            foreach (string key in FaultFields.Keys)
            {
                if (fault.Optional(key) is not { } value)
                {
                    continue;
                }

                if (value is not ScalarNode scalar)
                {
                    errors.Add(value, fault.Child(key), $"expected a single value, got {value.Describe()}");
                    continue;
                }

                fields[key] = new RawField(scalar.Value, !scalar.IsPlain, scalar.Position.Line, scalar.Position.Column);
            }

            var fieldErrors = new List<FieldError>();
            var at = new RawField("", false, items[i].Position.Line, items[i].Position.Column);
            var spec = FaultFields.Parse(fields, id => endpointIds is null || endpointIds.Contains(id), fieldErrors, path, at);
            foreach (var error in fieldErrors)
            {
                errors.Add(new SourcePosition(error.Line, error.Column), error.Field, error.Message);
            }

            if (spec is not null)
            {
                faults.Add(spec);
            }
        }

        return faults.ToImmutable();
    }

    private static ImmutableDictionary<string, LatencyOverride> ReadLatency(ConfigNode node, ConfigErrorSink errors, IReadOnlySet<string>? endpointIds)
    {
        var result = ImmutableDictionary.CreateBuilder<string, LatencyOverride>(StringComparer.Ordinal);
        if (node is not MappingNode mapping)
        {
            errors.Add(node, "latency", $"expected a mapping of endpoint id to {{ ttft_ms, tokens_per_s }}, got {node.Describe()}");
            return result.ToImmutable();
        }

        if (mapping.Entries.Count > MaxMapEntries)
        {
            errors.Add(node, "latency", $"at most {MaxMapEntries} endpoints");
            return result.ToImmutable();
        }

        foreach (var (key, value) in mapping.Entries)
        {
            string path = "latency." + key.Value;
            if (!ScalarValues.TryIdentifier(key, path, errors, out string endpoint))
            {
                continue;
            }

            if (endpointIds is not null && !endpointIds.Contains(endpoint))
            {
                errors.Add(key, path, $"'{endpoint}' is not an endpoint of the fleet");
                continue;
            }

            if (result.ContainsKey(endpoint))
            {
                errors.Add(key, path, "duplicate endpoint");
                continue;
            }

            var entry = MappingReader.Create(value, path, errors, "ttft_ms", "tokens_per_s");
            if (entry is null)
            {
                continue;
            }

            double? ttft = ReadPositive(entry, "ttft_ms", 600_000, errors);
            double? tokensPerSecond = ReadPositive(entry, "tokens_per_s", 1_000_000, errors);
            if (entry.Optional("ttft_ms") is null && entry.Optional("tokens_per_s") is null)
            {
                errors.Add(value, path, "give ttft_ms, tokens_per_s or both");
            }

            result[endpoint] = new LatencyOverride(ttft, tokensPerSecond);
        }

        return result.ToImmutable();
    }

    private static double? ReadPositive(MappingReader entry, string key, double max, ConfigErrorSink errors)
    {
        if (entry.Optional(key) is not { } node || !ScalarValues.TryDouble(node, entry.Child(key), errors, out double value))
        {
            return null;
        }

        if (value is <= 0 || value > max)
        {
            errors.Add(node, entry.Child(key), $"must be greater than 0 and at most {max}");
            return null;
        }

        return value;
    }

    private static TimeSpan? ReadDuration(ConfigNode node, string path, ConfigErrorSink errors)
    {
        if (node is not ScalarNode scalar)
        {
            errors.Add(node, path, $"expected a duration such as 150s, got {node.Describe()}");
            return null;
        }

        if (!FaultFields.TryDuration(new RawField(scalar.Value, !scalar.IsPlain, 0, 0), out var value, out string? problem))
        {
            errors.Add(node, path, problem!);
            return null;
        }

        return value;
    }
}

/// <summary>Thrown when a scenario file cannot be loaded; carries every problem found.</summary>
public sealed class ScenarioFileException : Exception
{
    /// <summary>Creates the exception from the errors found in one file.</summary>
    public ScenarioFileException(IReadOnlyList<FleetConfigError> errors, Exception? innerException = null)
        : base(Describe(errors), innerException)
    {
        Errors = errors;
    }

    /// <summary>Creates an exception with a message only.</summary>
    public ScenarioFileException(string message)
        : base(message)
    {
        Errors = [];
    }

    /// <summary>Creates an exception with a message and inner exception.</summary>
    public ScenarioFileException(string message, Exception innerException)
        : base(message, innerException)
    {
        Errors = [];
    }

    /// <summary>Creates an exception with no details.</summary>
    public ScenarioFileException()
    {
        Errors = [];
    }

    /// <summary>Every problem found, in file order, each printing as <c>file:line:column: field: message</c>.</summary>
    public IReadOnlyList<FleetConfigError> Errors { get; }

    private static string Describe(IReadOnlyList<FleetConfigError> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        string source = errors.Count > 0 ? errors[0].Source : "scenario";
        string listed = string.Join(Environment.NewLine, errors.Take(100).Select(e => "  " + e));
        return $"Scenario file {source} is invalid ({errors.Count} error{(errors.Count == 1 ? "" : "s")}):{Environment.NewLine}{listed}";
    }
}
