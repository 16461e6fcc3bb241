using System.Security.Cryptography;
using System.Text;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace ControlPlane.Prober;

/// <summary>One golden prompt: its id, the prompt (the last user message) and the substring a correct answer contains.</summary>
/// <param name="Id">Unique id (reported as part of each probe's request id).</param>
/// <param name="Prompt">The prompt text.</param>
/// <param name="Expect">What a correct answer's content contains (<c>content.Contains(expect)</c>).</param>
public sealed record GoldenPrompt(string Id, string Prompt, string Expect)
{
    /// <summary>The grader-visible answer of the provider simulator for <paramref name="prompt"/>: <c>answer:</c> plus
    /// the first 12 lowercase hex characters of SHA-256(UTF-8 prompt).</summary>
    public static string SimulatorAnswer(string prompt)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        return "answer:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(prompt)))[..12];
    }

    /// <summary>True when <paramref name="content"/> passes this prompt's grader.</summary>
    public bool Passes(string? content) => content is not null && content.Contains(Expect, StringComparison.Ordinal);
}

/// <summary>A golden set file (<c>deploy/evals/golden.yaml</c>): a YAML list of <c>{ id, prompt, expect }</c>. Bounded
/// (<see cref="MaxPrompts"/> entries, <see cref="MaxPromptChars"/> per prompt, <see cref="MaxExpectChars"/> per expect);
/// every error names file:line:column.</summary>
public static class GoldenSet
{
    /// <summary>The most prompts a golden set may hold.</summary>
    public const int MaxPrompts = 500;

    /// <summary>The longest prompt.</summary>
    public const int MaxPromptChars = 16 * 1024;

    /// <summary>The longest <c>expect</c>.</summary>
    public const int MaxExpectChars = 256;

    /// <summary>The largest golden set file.</summary>
    public const int MaxFileBytes = 4 * 1024 * 1024;

    /// <summary>Loads <paramref name="path"/>.</summary>
    /// <exception cref="GoldenSetException">The file is malformed (message: file:line:column: what).</exception>
    public static IReadOnlyList<GoldenPrompt> Load(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var info = new FileInfo(path);
        if (info.Exists && info.Length > MaxFileBytes)
        {
            throw new GoldenSetException($"{path}:1:1: the file is larger than {MaxFileBytes} bytes");
        }

        using var reader = new StreamReader(path, Encoding.UTF8);
        return Parse(reader, path);
    }

    /// <summary>Parses a golden set from <paramref name="reader"/>; <paramref name="source"/> names it in errors.</summary>
    /// <exception cref="GoldenSetException">The text is malformed.</exception>
    public static IReadOnlyList<GoldenPrompt> Parse(TextReader reader, string source)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var stream = new YamlStream();
        try
        {
            stream.Load(reader);
        }
        catch (YamlException e)
        {
            throw new GoldenSetException($"{source}:{e.Start.Line}:{e.Start.Column}: {e.Message}");
        }

        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlSequenceNode list)
        {
            var at = stream.Documents.Count == 0 ? "1:1" : Position(stream.Documents[0].RootNode);
            throw new GoldenSetException($"{source}:{at}: expected a list of {{ id, prompt, expect }}");
        }

        if (list.Children.Count == 0 || list.Children.Count > MaxPrompts)
        {
            throw new GoldenSetException($"{source}:{Position(list)}: expected 1 to {MaxPrompts} prompts, got {list.Children.Count}");
        }

        var prompts = new List<GoldenPrompt>(list.Children.Count);
        var ids = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < list.Children.Count; i++)
        {
            if (list.Children[i] is not YamlMappingNode entry)
            {
                throw new GoldenSetException($"{source}:{Position(list.Children[i])}: [{i}]: expected a mapping {{ id, prompt, expect }}");
            }

            foreach (var key in entry.Children.Keys)
            {
                if (key is not YamlScalarNode { Value: "id" or "prompt" or "expect" })
                {
                    throw new GoldenSetException($"{source}:{Position(key)}: [{i}]: unknown key '{(key as YamlScalarNode)?.Value}'; expected one of id, prompt, expect");
                }
            }

            var id = Scalar(entry, "id", i, source, 128);
            if (!ids.Add(id))
            {
                throw new GoldenSetException($"{source}:{Position(entry)}: [{i}].id: duplicate id '{id}'");
            }

            if (!id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
            {
                throw new GoldenSetException($"{source}:{Position(entry)}: [{i}].id: use letters, digits, '-', '_' or '.'");
            }

            prompts.Add(new GoldenPrompt(id, Scalar(entry, "prompt", i, source, MaxPromptChars), Scalar(entry, "expect", i, source, MaxExpectChars)));
        }

        return prompts;
    }

    private static string Scalar(YamlMappingNode entry, string key, int index, string source, int max)
    {
        if (!entry.Children.TryGetValue(new YamlScalarNode(key), out var node))
        {
            throw new GoldenSetException($"{source}:{Position(entry)}: [{index}].{key}: is required");
        }

        if (node is not YamlScalarNode { Value: { Length: > 0 } value })
        {
            throw new GoldenSetException($"{source}:{Position(node)}: [{index}].{key}: expected a non-empty string");
        }

        if (value.Length > max)
        {
            throw new GoldenSetException($"{source}:{Position(node)}: [{index}].{key}: at most {max} characters, got {value.Length}");
        }

        return value;
    }

    private static string Position(YamlNode node) => $"{node.Start.Line}:{node.Start.Column}";
}

/// <summary>A malformed golden set file; the message names file:line:column.</summary>
public sealed class GoldenSetException : Exception
{
    /// <summary>Creates the exception.</summary>
    public GoldenSetException()
    {
    }

    /// <summary>Creates the exception with its message.</summary>
    public GoldenSetException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with its message and cause.</summary>
    public GoldenSetException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
