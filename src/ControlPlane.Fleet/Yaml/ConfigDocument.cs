using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace ControlPlane.Fleet.Yaml;

/// <summary>Reads one YAML document into a <see cref="ConfigNode"/> tree with positions, turning syntax errors into located errors.</summary>
internal sealed class ConfigDocument
{
    private const string StringTag = "tag:yaml.org,2002:str";

    // The schema nests four levels; the bound keeps a hostile file from exhausting the stack (which no catch survives).
    private const int MaxDepth = 64;

    private readonly Parser _parser;
    private readonly ConfigErrorSink _errors;
    private readonly Dictionary<string, ConfigNode> _anchors = new(StringComparer.Ordinal);

    // Starts of the flow collections ([...] and {...}) being read: where an unclosed one is reported.
    private readonly Stack<SourcePosition> _openFlows = new();

    private int _depth;

    private ConfigDocument(TextReader reader, ConfigErrorSink errors)
    {
        _parser = new Parser(reader);
        _errors = errors;
    }

    /// <summary>The root node, or null when the stream is empty or has a syntax error (reported to <paramref name="errors"/>).</summary>
    public static ConfigNode? Read(TextReader reader, ConfigErrorSink errors) => new ConfigDocument(reader, errors).Read();

    private ConfigNode? Read()
    {
        try
        {
            _parser.Consume<StreamStart>();
            if (_parser.Accept<StreamEnd>(out _))
            {
                return null;
            }

            _parser.Consume<DocumentStart>();
            var root = ReadNode();
            _parser.Consume<DocumentEnd>();
            if (_parser.Accept<DocumentStart>(out var second))
            {
                _errors.Add(At(second.Start), "", "only one YAML document is allowed per fleet file");
                return null;
            }

            return root;
        }
        catch (YamlException e)
        {
            _errors.Add(At(e.Start), "", "YAML syntax error: " + e.Message);
            return null;
        }
        catch (InvalidOperationException)
        {
            // YamlDotNet's scanner throws this (not a YamlException) on an unclosed flow collection.
            var at = _openFlows.Count > 0 ? _openFlows.Peek() : _parser.Current is { } current ? At(current.End) : new SourcePosition(1, 1);
            _errors.Add(at, "", "YAML syntax error: this [ or { is not closed");
            return null;
        }
    }

    private ConfigNode ReadNode()
    {
        if (_depth >= MaxDepth)
        {
            var here = _parser.Current!;
            throw new YamlException(here.Start, here.End, $"nesting deeper than {MaxDepth} levels");
        }

        _depth++;
        try
        {
            return ReadNodeAtDepth();
        }
        finally
        {
            _depth--;
        }
    }

    private ConfigNode ReadNodeAtDepth()
    {
        if (_parser.TryConsume<AnchorAlias>(out var alias))
        {
            if (_anchors.TryGetValue(alias.Value.Value, out var target))
            {
                return target;
            }

            throw new YamlException(alias.Start, alias.End, $"unknown alias '*{alias.Value.Value}'");
        }

        ConfigNode node;
        NodeEvent start;
        if (_parser.TryConsume<Scalar>(out var scalar))
        {
            start = scalar;
            bool isPlain = scalar.Style == ScalarStyle.Plain && (scalar.Tag.IsEmpty || scalar.Tag.Value != StringTag);
            node = new ScalarNode(At(scalar.Start), scalar.Value, isPlain);
        }
        else if (_parser.TryConsume<SequenceStart>(out var sequenceStart))
        {
            start = sequenceStart;
            var items = new List<ConfigNode>();
            bool flow = sequenceStart.Style == SequenceStyle.Flow;
            if (flow)
            {
                _openFlows.Push(At(sequenceStart.Start));
            }

            while (!_parser.TryConsume<SequenceEnd>(out _))
            {
                items.Add(ReadNode());
            }

            if (flow)
            {
                _openFlows.Pop();
            }

            node = new SequenceNode(At(sequenceStart.Start), items);
        }
        else
        {
            var mappingStart = _parser.Consume<MappingStart>();
            start = mappingStart;
            var entries = new List<KeyValuePair<ScalarNode, ConfigNode>>();
            bool flow = mappingStart.Style == MappingStyle.Flow;
            if (flow)
            {
                _openFlows.Push(At(mappingStart.Start));
            }

            while (!_parser.TryConsume<MappingEnd>(out _))
            {
                var key = ReadNode();
                var value = ReadNode();
                if (key is ScalarNode scalarKey)
                {
                    entries.Add(new(scalarKey, value));
                }
                else
                {
                    _errors.Add(key.Position, "", $"mapping keys must be plain names, got {key.Describe()}");
                }
            }

            if (flow)
            {
                _openFlows.Pop();
            }

            node = new MappingNode(At(mappingStart.Start), entries);
        }

        if (!start.Anchor.IsEmpty)
        {
            _anchors[start.Anchor.Value] = node;
        }

        return node;
    }

    private static SourcePosition At(Mark mark) => new((int)Math.Min(mark.Line, int.MaxValue), (int)Math.Min(mark.Column, int.MaxValue));
}
