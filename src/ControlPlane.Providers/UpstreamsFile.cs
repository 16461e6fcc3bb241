using System.Collections.Frozen;
using System.Text.Json;

namespace ControlPlane.Providers;

/// <summary>A broken upstreams file: the message names the file, the line and column (when known) and the field.</summary>
public sealed class UpstreamsFileException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>The upstreams file the simulator writes and the proxy and prober read:
/// <c>{"endpoints":{"&lt;id&gt;":{"url":"http://127.0.0.1:PORT","api":"openai"|"anthropic","provider":"...","model":"...",
/// "model_version":"...","api_key_env":"OPTIONAL_ENV_NAME"}}}</c>. Strict: unknown fields, a missing url, an unknown
/// api or a non-http(s) url are errors.</summary>
public static class UpstreamsFile
{
    /// <summary>Most endpoints one file may hold.</summary>
    public const int MaxEndpoints = 10_000;

    /// <summary>Largest file read.</summary>
    public const long MaxFileBytes = 16 * 1024 * 1024;

    /// <summary>Reads and checks <paramref name="path"/>.</summary>
    /// <exception cref="UpstreamsFileException">The file is missing, too large, not JSON, or has a bad entry.</exception>
    public static FrozenDictionary<string, UpstreamEndpoint> Load(string path, Func<string, string?>? environment = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        byte[] bytes;
        try
        {
            var info = new FileInfo(path);
            if (info.Exists && info.Length > MaxFileBytes)
            {
                throw new UpstreamsFileException($"{path}: the file is larger than {MaxFileBytes} bytes.");
            }

            bytes = File.ReadAllBytes(path);
        }
        catch (IOException error)
        {
            throw new UpstreamsFileException($"{path}: {error.Message}", error);
        }
        catch (UnauthorizedAccessException error)
        {
            throw new UpstreamsFileException($"{path}: {error.Message}", error);
        }

        return Parse(bytes, path, environment);
    }

    /// <summary>Parses the file's bytes; <paramref name="source"/> names it in errors.</summary>
    /// <exception cref="UpstreamsFileException">Not JSON, or a bad entry.</exception>
    public static FrozenDictionary<string, UpstreamEndpoint> Parse(ReadOnlySpan<byte> json, string source, Func<string, string?>? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
        JsonDocument document;
        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 16, CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
            document = JsonDocument.ParseValue(ref reader);
        }
        catch (JsonException error)
        {
            throw new UpstreamsFileException($"{source}:{(error.LineNumber ?? 0) + 1}:{(error.BytePositionInLine ?? 0) + 1}: not valid JSON: {error.Message}", error);
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new UpstreamsFileException($"{source}: the file must be a JSON object with an \"endpoints\" object.");
            }

            var result = new Dictionary<string, UpstreamEndpoint>(StringComparer.Ordinal);
            foreach (var top in root.EnumerateObject())
            {
                if (top.Name != "endpoints")
                {
                    throw new UpstreamsFileException($"{source}: {top.Name}: unknown field (expected \"endpoints\").");
                }

                if (top.Value.ValueKind != JsonValueKind.Object)
                {
                    throw new UpstreamsFileException($"{source}: endpoints: must be an object of endpoint id to endpoint.");
                }

                foreach (var entry in top.Value.EnumerateObject())
                {
                    if (result.Count >= MaxEndpoints)
                    {
                        throw new UpstreamsFileException($"{source}: endpoints: more than {MaxEndpoints} endpoints.");
                    }

                    var endpoint = ParseEndpoint(entry, source, environment);
                    if (!result.TryAdd(endpoint.Id, endpoint))
                    {
                        throw new UpstreamsFileException($"{source}: endpoints.{entry.Name}: listed twice.");
                    }
                }
            }

            return result.ToFrozenDictionary(StringComparer.Ordinal);
        }
    }

    private static UpstreamEndpoint ParseEndpoint(JsonProperty entry, string source, Func<string, string?> environment)
    {
        var at = $"{source}: endpoints.{entry.Name}";
        if (entry.Name.Length is 0 or > 128 || entry.Name.Any(c => c is <= ' ' or > '~'))
        {
            throw new UpstreamsFileException($"{at}: the endpoint id must be 1 to 128 visible ASCII characters.");
        }

        if (entry.Value.ValueKind != JsonValueKind.Object)
        {
            throw new UpstreamsFileException($"{at}: must be an object.");
        }

        string? url = null, api = null, provider = null, model = null, version = null, keyEnv = null;
        foreach (var field in entry.Value.EnumerateObject())
        {
            if (field.Value.ValueKind != JsonValueKind.String)
            {
                throw new UpstreamsFileException($"{at}.{field.Name}: must be a string.");
            }

            var value = field.Value.GetString()!;
            if (value.Length > 2048)
            {
                throw new UpstreamsFileException($"{at}.{field.Name}: longer than 2048 characters.");
            }

            switch (field.Name)
            {
                case "url": url = value; break;
                case "api": api = value; break;
                case "provider": provider = value; break;
                case "model": model = value; break;
                case "model_version": version = value; break;
                case "api_key_env": keyEnv = value; break;
                default: throw new UpstreamsFileException($"{at}.{field.Name}: unknown field (expected url, api, provider, model, model_version, api_key_env).");
            }
        }

        if (url is null || !Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            throw new UpstreamsFileException($"{at}.url: required, an absolute http or https address.");
        }

        var kind = api switch
        {
            null or "openai" => provider == "anthropic" && api is null ? UpstreamApi.Anthropic : UpstreamApi.OpenAi,
            "anthropic" => UpstreamApi.Anthropic,
            _ => throw new UpstreamsFileException($"{at}.api: \"{api}\" is not openai or anthropic."),
        };
        string? key = null;
        if (keyEnv is not null)
        {
            key = environment(keyEnv);
            if (string.IsNullOrEmpty(key))
            {
                throw new UpstreamsFileException($"{at}.api_key_env: the environment variable {keyEnv} is not set.");
            }
        }

        var baseUrl = uri.AbsoluteUri.EndsWith('/') ? uri : new Uri(uri.AbsoluteUri + "/");
        return new UpstreamEndpoint(entry.Name, baseUrl, kind, provider ?? string.Empty, model ?? string.Empty, version ?? string.Empty) { ApiKey = key };
    }
}
