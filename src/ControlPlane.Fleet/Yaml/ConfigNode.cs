namespace ControlPlane.Fleet.Yaml;

/// <summary>A 1-based line and column in the source file.</summary>
internal readonly record struct SourcePosition(int Line, int Column);

/// <summary>A YAML node with its position; the loader's own tree so that duplicate keys and parser faults become located errors.</summary>
internal abstract class ConfigNode(SourcePosition position)
{
    public SourcePosition Position { get; } = position;

    /// <summary>What the node is, for "expected X, got Y" messages.</summary>
    public abstract string Describe();
}

internal sealed class ScalarNode(SourcePosition position, string value, bool isPlain) : ConfigNode(position)
{
    private const int MaxQuotedLength = 40;

    public string Value { get; } = value;

    /// <summary>Unquoted and untagged: only plain scalars are numbers, booleans or null, as in the YAML core schema.</summary>
    public bool IsPlain { get; } = isPlain;

    public bool IsNull => IsPlain && Value is "" or "~" or "null" or "Null" or "NULL";

    public override string Describe()
    {
        if (IsNull)
        {
            return "null";
        }

        string shown = Value.Length > MaxQuotedLength ? Value[..MaxQuotedLength] + "..." : Value;
        return IsPlain ? $"'{shown}'" : $"the string '{shown}'";
    }
}

internal sealed class SequenceNode(SourcePosition position, IReadOnlyList<ConfigNode> items) : ConfigNode(position)
{
    public IReadOnlyList<ConfigNode> Items { get; } = items;

    public override string Describe() => "a list";
}

/// <summary>A mapping; keeps duplicate keys so the reader can report them with the field path.</summary>
internal sealed class MappingNode(SourcePosition position, IReadOnlyList<KeyValuePair<ScalarNode, ConfigNode>> entries) : ConfigNode(position)
{
    public IReadOnlyList<KeyValuePair<ScalarNode, ConfigNode>> Entries { get; } = entries;

    public override string Describe() => "a mapping";
}
