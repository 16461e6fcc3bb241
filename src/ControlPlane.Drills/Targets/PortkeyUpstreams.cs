using System.Text.Json;

namespace ControlPlane.Drills.Targets;

/// <summary>One endpoint of the simulator's upstreams file, as the Portkey configuration needs it.</summary>
/// <param name="Url">The endpoint's base URL (<c>http://127.0.0.1:PORT</c>), without <c>/v1</c>.</param>
/// <param name="Api"><c>openai</c> or <c>anthropic</c>: the wire shape the endpoint speaks.</param>
/// <param name="Model">The model name a request for this endpoint carries.</param>
/// <param name="ApiKeyEnv">For a real provider: the environment variable holding its key; null for the simulator.</param>
internal sealed record PortkeyUpstream(Uri Url, string Api, string Model, string? ApiKeyEnv);

/// <summary>Reads the upstreams file the simulator writes (<c>{"endpoints":{"id":{"url":..,"api":..,"model":..}}}</c>,
/// see docs/architecture.md, "Simulator"). Bounded: at most <see cref="MaxBytes"/> bytes and
/// <see cref="MaxEndpoints"/> endpoints; a broken file is an <see cref="InvalidDataException"/> naming the file and the field.</summary>
internal static class PortkeyUpstreams
{
    /// <summary>Largest upstreams file read.</summary>
    public const int MaxBytes = 1024 * 1024;

    /// <summary>Most endpoints in one file.</summary>
    public const int MaxEndpoints = 1024;

    private const int MaxTextLength = 512;

    /// <summary>Reads and validates the file at <paramref name="path"/>.</summary>
    public static IReadOnlyDictionary<string, PortkeyUpstream> ReadFile(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var info = new FileInfo(path);
        if (!info.Exists)
        {
            throw new InvalidDataException($"{path}: file not found");
        }

        if (info.Length > MaxBytes)
        {
            throw new InvalidDataException($"{path}: larger than {MaxBytes} bytes");
        }

        return Parse(File.ReadAllText(path), path);
    }

    /// <summary>Parses upstreams JSON; <paramref name="source"/> names it in errors.</summary>
    public static IReadOnlyDictionary<string, PortkeyUpstream> Parse(string json, string source)
    {
        ArgumentNullException.ThrowIfNull(json);
        if (json.Length > MaxBytes)
        {
            throw new InvalidDataException($"{source}: larger than {MaxBytes} bytes");
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 8 });
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{source}:{(e.LineNumber ?? 0) + 1}:{(e.BytePositionInLine ?? 0) + 1}: not valid JSON: {e.Message}", e);
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object
                || !document.RootElement.TryGetProperty("endpoints", out var endpoints)
                || endpoints.ValueKind != JsonValueKind.Object)
            {
                throw new InvalidDataException($"{source}: endpoints: must be an object of endpoint id -> upstream");
            }

            var result = new Dictionary<string, PortkeyUpstream>(StringComparer.Ordinal);
            foreach (var endpoint in endpoints.EnumerateObject())
            {
                if (result.Count == MaxEndpoints)
                {
                    throw new InvalidDataException($"{source}: endpoints: more than {MaxEndpoints} endpoints");
                }

                var field = "endpoints." + Clip(endpoint.Name);
                if (endpoint.Name.Length is 0 or > MaxTextLength)
                {
                    throw new InvalidDataException($"{source}: {field}: the endpoint id must have 1..{MaxTextLength} characters");
                }

                if (endpoint.Value.ValueKind != JsonValueKind.Object)
                {
                    throw new InvalidDataException($"{source}: {field}: must be an object");
                }

                var url = Text(endpoint.Value, "url", source, field, required: true)!;
                if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || uri.Query.Length > 0)
                {
                    throw new InvalidDataException($"{source}: {field}.url: must be an absolute http(s) URL without a query");
                }

                var api = Text(endpoint.Value, "api", source, field, required: false) ?? "openai";
                if (api is not ("openai" or "anthropic"))
                {
                    throw new InvalidDataException($"{source}: {field}.api: must be openai or anthropic");
                }

                var model = Text(endpoint.Value, "model", source, field, required: true)!;
                var keyEnv = Text(endpoint.Value, "api_key_env", source, field, required: false);
                result[endpoint.Name] = new PortkeyUpstream(uri, api, model, keyEnv);
            }

            return result;
        }
    }

    private static string? Text(JsonElement element, string name, string source, string field, bool required)
    {
        if (!element.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return required ? throw new InvalidDataException($"{source}: {field}.{name}: required") : null;
        }

        if (value.ValueKind != JsonValueKind.String || value.GetString() is not { Length: > 0 and <= MaxTextLength } text)
        {
            throw new InvalidDataException($"{source}: {field}.{name}: must be a string of 1..{MaxTextLength} characters");
        }

        return text;
    }

    private static string Clip(string text) => text.Length <= 64 ? text : text[..64] + "...";
}
