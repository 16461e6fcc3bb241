using System.Text.Json;

namespace ControlPlane.Prober;

/// <summary>One endpoint of an upstreams file (written by the simulator, read by the proxy, the prober and the drills).</summary>
/// <param name="Id">The fleet endpoint id.</param>
/// <param name="Url">Base URL (e.g. <c>http://127.0.0.1:PORT</c>).</param>
/// <param name="Api"><c>openai</c> or <c>anthropic</c>.</param>
/// <param name="Model">The model name sent in requests.</param>
/// <param name="ApiKeyEnvironment">The environment variable holding the provider's API key (real providers), or null.</param>
public sealed record UpstreamEndpoint(string Id, Uri Url, string Api, string Model, string? ApiKeyEnvironment);

/// <summary>Reads an upstreams file: <c>{"endpoints":{"id":{"url","api","provider","model","model_version","api_key_env"?}}}</c>.</summary>
public static class Upstreams
{
    /// <summary>The most endpoints an upstreams file may list.</summary>
    public const int MaxEndpoints = 1000;

    /// <summary>The largest upstreams file.</summary>
    public const int MaxFileBytes = 1024 * 1024;

    /// <summary>Loads <paramref name="path"/>, ordered by endpoint id.</summary>
    /// <exception cref="InvalidDataException">The file is malformed (the message names the field).</exception>
    public static IReadOnlyList<UpstreamEndpoint> Load(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var info = new FileInfo(path);
        if (info.Length > MaxFileBytes)
        {
            throw new InvalidDataException($"{path}: larger than {MaxFileBytes} bytes");
        }

        return Parse(File.ReadAllText(path), path);
    }

    /// <summary>Parses upstreams JSON; <paramref name="source"/> names it in errors.</summary>
    /// <exception cref="InvalidDataException">The text is malformed.</exception>
    public static IReadOnlyList<UpstreamEndpoint> Parse(string json, string source)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 8 });
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{source}:{(e.LineNumber ?? 0) + 1}:{(e.BytePositionInLine ?? 0) + 1}: {e.Message}", e);
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object
                || !document.RootElement.TryGetProperty("endpoints", out var endpoints) || endpoints.ValueKind != JsonValueKind.Object)
            {
                throw new InvalidDataException($"{source}: endpoints: expected an object of endpoint id -> {{ url, api, model }}");
            }

            var result = new List<UpstreamEndpoint>();
            foreach (var property in endpoints.EnumerateObject())
            {
                if (result.Count == MaxEndpoints)
                {
                    throw new InvalidDataException($"{source}: endpoints: at most {MaxEndpoints}");
                }

                var field = $"endpoints.{property.Name}";
                var e = property.Value;
                if (e.ValueKind != JsonValueKind.Object)
                {
                    throw new InvalidDataException($"{source}: {field}: expected an object");
                }

                var url = Text(e, "url", field, source);
                if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
                {
                    throw new InvalidDataException($"{source}: {field}.url: expected an http(s) URL, got '{url}'");
                }

                var api = Text(e, "api", field, source);
                if (api is not ("openai" or "anthropic"))
                {
                    throw new InvalidDataException($"{source}: {field}.api: expected openai or anthropic, got '{api}'");
                }

                string? keyEnv = e.TryGetProperty("api_key_env", out var k) && k.ValueKind == JsonValueKind.String ? k.GetString() : null;
                result.Add(new UpstreamEndpoint(property.Name, uri, api, Text(e, "model", field, source), keyEnv));
            }

            return [.. result.OrderBy(r => r.Id, StringComparer.Ordinal)];
        }
    }

    private static string Text(JsonElement e, string name, string field, string source) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String && v.GetString() is { Length: > 0 and <= 2048 } s
            ? s
            : throw new InvalidDataException($"{source}: {field}.{name}: expected a non-empty string");
}
