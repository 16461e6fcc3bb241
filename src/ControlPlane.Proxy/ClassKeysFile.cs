using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace ControlPlane.Proxy;

/// <summary>A broken class-keys file; the message names the file, line and column.</summary>
public sealed class ClassKeysFileException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>The <c>--class-keys</c> file: a YAML (or JSON) map of proxy API key to workload class, e.g.
/// <c>{"sk-support-1": "customer_chat", "sk-legal-1": "legal_draft"}</c>. Keys are 8 to 256 visible ASCII characters,
/// classes 1 to 128 of <c>[A-Za-z0-9_.-]</c>; at most 100,000 entries; a duplicate key is an error.</summary>
public static class ClassKeysFile
{
    /// <summary>Most entries one file may hold.</summary>
    public const int MaxEntries = 100_000;

    /// <summary>Largest file read.</summary>
    public const long MaxFileBytes = 16 * 1024 * 1024;

    /// <summary>Reads and checks <paramref name="path"/>.</summary>
    /// <exception cref="ClassKeysFileException">The file is missing, too large, not a map, or has a bad entry.</exception>
    public static IReadOnlyDictionary<string, string> Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        string text;
        try
        {
            if (new FileInfo(path) is { Exists: true, Length: > MaxFileBytes })
            {
                throw new ClassKeysFileException($"{path}: the file is larger than {MaxFileBytes} bytes.");
            }

            text = File.ReadAllText(path);
        }
        catch (IOException error)
        {
            throw new ClassKeysFileException($"{path}: {error.Message}", error);
        }
        catch (UnauthorizedAccessException error)
        {
            throw new ClassKeysFileException($"{path}: {error.Message}", error);
        }

        return Parse(text, path);
    }

    /// <summary>Parses the file's text; <paramref name="source"/> names it in errors.</summary>
    /// <exception cref="ClassKeysFileException">Not a map of strings, or a bad entry.</exception>
    public static IReadOnlyDictionary<string, string> Parse(string text, string source)
    {
        ArgumentNullException.ThrowIfNull(text);
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        var parser = new Parser(new StringReader(text));
        try
        {
            parser.Consume<StreamStart>();
            if (parser.TryConsume<StreamEnd>(out _))
            {
                return result;
            }

            parser.Consume<DocumentStart>();
            if (!parser.TryConsume<MappingStart>(out _))
            {
                throw Error(source, parser.Current?.Start ?? Mark.Empty, "the file must be a map of API key to workload class.");
            }

            while (!parser.TryConsume<MappingEnd>(out _))
            {
                var key = Scalar(parser, source, "key");
                var value = Scalar(parser, source, "workload class");
                if (!IsValidKey(key.Value))
                {
                    throw Error(source, key.Start, "a key must be 8 to 256 visible ASCII characters.");
                }

                if (!IsValidClass(value.Value))
                {
                    throw Error(source, value.Start, $"\"{value.Value}\" is not a workload class name (1 to 128 of A-Z a-z 0-9 _ . -).");
                }

                if (result.Count >= MaxEntries)
                {
                    throw Error(source, key.Start, $"more than {MaxEntries} keys.");
                }

                if (!result.TryAdd(key.Value, value.Value))
                {
                    throw Error(source, key.Start, "this key is listed twice.");
                }
            }
        }
        catch (YamlException error)
        {
            throw new ClassKeysFileException($"{source}:{error.Start.Line}:{error.Start.Column}: {error.Message}", error);
        }

        return result;
    }

    /// <summary>Whether <paramref name="key"/> can be a proxy API key.</summary>
    public static bool IsValidKey(string? key) => key is { Length: >= 8 and <= 256 } && key.All(c => c is > ' ' and <= '~');

    /// <summary>Whether <paramref name="name"/> can be a workload class name.</summary>
    public static bool IsValidClass(string? name) => name is { Length: >= 1 and <= 128 } && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-');

    private static Scalar Scalar(IParser parser, string source, string what)
    {
        if (parser.TryConsume<Scalar>(out var scalar))
        {
            return scalar;
        }

        throw Error(source, parser.Current?.Start ?? Mark.Empty, $"expected a {what} (a string).");
    }

    private static ClassKeysFileException Error(string source, Mark at, string message) => new($"{source}:{at.Line}:{at.Column}: {message}");
}
