namespace ControlPlane.Fleet.Yaml;

/// <summary>
/// Reads the keys of one mapping against a fixed schema: unknown and duplicate keys are reported when the
/// reader is created, missing required keys when they are asked for.
/// </summary>
internal sealed class MappingReader
{
    private readonly Dictionary<string, KeyValuePair<ScalarNode, ConfigNode>> _entries = new(StringComparer.Ordinal);
    private readonly ConfigErrorSink _errors;

    private MappingReader(MappingNode node, string path, ConfigErrorSink errors, IReadOnlyList<string> keys)
    {
        Node = node;
        Path = path;
        _errors = errors;
        foreach (var entry in node.Entries)
        {
            string key = entry.Key.Value;
            if (!keys.Contains(key, StringComparer.Ordinal))
            {
                errors.Add(entry.Key, Child(key), UnknownKeyMessage(key, keys));
            }
            else if (_entries.TryGetValue(key, out var first))
            {
                errors.Add(entry.Key, Child(key), $"duplicate key; first given at line {first.Key.Position.Line}");
            }
            else
            {
                _entries.Add(key, entry);
            }
        }
    }

    public MappingNode Node { get; }

    public string Path { get; }

    /// <summary>A reader for <paramref name="node"/>, or null (with an error) when it is not a mapping.</summary>
    public static MappingReader? Create(ConfigNode node, string path, ConfigErrorSink errors, params string[] keys)
    {
        if (node is MappingNode mapping)
        {
            return new MappingReader(mapping, path, errors, keys);
        }

        errors.Add(node, path, $"expected a mapping, got {node.Describe()}");
        return null;
    }

    public string Child(string key) => Path.Length == 0 ? key : Path + "." + key;

    /// <summary>The value of <paramref name="key"/>, or null when absent (an explicit null counts as absent).</summary>
    public ConfigNode? Optional(string key) =>
        _entries.TryGetValue(key, out var entry) && entry.Value is not ScalarNode { IsNull: true } ? entry.Value : null;

    /// <summary>The value of <paramref name="key"/>, or null with an error naming the missing field.</summary>
    public ConfigNode? Required(string key)
    {
        var value = Optional(key);
        if (value is null)
        {
            var at = _entries.TryGetValue(key, out var entry) ? entry.Value.Position : Node.Position;
            _errors.Add(at, Child(key), "is required");
        }

        return value;
    }

    private static string UnknownKeyMessage(string key, IReadOnlyList<string> keys) =>
        ConfigVocabulary.Suggest(key, keys) is { } suggestion
            ? $"unknown key; did you mean '{suggestion}'?"
            : $"unknown key; expected one of {string.Join(", ", keys)}";
}
