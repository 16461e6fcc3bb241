using System.Text;
using System.Text.Json;

namespace ControlPlane.Providers;

/// <summary>A checked OpenAI-shaped chat request (<c>POST /v1/chat/completions</c> body): the parsed document plus what
/// routing and the upstream call need. Owns the document: dispose it when the call is over.</summary>
public sealed class ChatRequest : IDisposable
{
    /// <summary>Most messages one request may carry.</summary>
    public const int MaxMessages = 10_000;

    /// <summary>Largest <c>max_tokens</c> accepted.</summary>
    public const long MaxOutputTokensLimit = 1_000_000;

    /// <summary>Output tokens assumed (for the quota reservation and Anthropic's required <c>max_tokens</c>) when the
    /// request names none.</summary>
    public const long DefaultMaxOutputTokens = 1_024;

    private static readonly JsonDocumentOptions s_options = new() { MaxDepth = 64 };

    private ChatRequest(JsonDocument document, bool stream, long? maxTokens, long estimatedInputTokens)
    {
        Document = document;
        Stream = stream;
        MaxTokens = maxTokens;
        EstimatedInputTokens = estimatedInputTokens;
    }

    /// <summary>The parsed body (an object with a non-empty <c>messages</c> array).</summary>
    public JsonDocument Document { get; }

    /// <summary>Whether the caller asked for server-sent events (<c>"stream": true</c>).</summary>
    public bool Stream { get; }

    /// <summary>The request's <c>max_tokens</c> (or <c>max_completion_tokens</c>), if given.</summary>
    public long? MaxTokens { get; }

    /// <summary>The output tokens to reserve: <see cref="MaxTokens"/> or <see cref="DefaultMaxOutputTokens"/>.</summary>
    public long MaxOutputTokens => MaxTokens ?? DefaultMaxOutputTokens;

    /// <summary>A cheap estimate of the input tokens (a quarter of the body's UTF-8 length, at least 1).</summary>
    public long EstimatedInputTokens { get; }

    /// <summary>A request of one user message, for probes and tests.</summary>
    public static ChatRequest FromPrompt(string prompt, long? maxTokens = null, bool stream = false)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteStartArray("messages");
            writer.WriteStartObject();
            writer.WriteString("role", "user");
            writer.WriteString("content", prompt);
            writer.WriteEndObject();
            writer.WriteEndArray();
            if (maxTokens is { } max)
            {
                writer.WriteNumber("max_tokens", max);
            }

            if (stream)
            {
                writer.WriteBoolean("stream", true);
            }

            writer.WriteEndObject();
        }

        if (!TryParse(buffer.ToArray(), out var request, out var error))
        {
            throw new ArgumentException(error, nameof(prompt));
        }

        return request;
    }

    /// <summary>Parses and checks a body; on failure <paramref name="error"/> says what is wrong, naming the field.</summary>
    public static bool TryParse(ReadOnlyMemory<byte> body, out ChatRequest request, out string error)
    {
        request = null!;
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body, s_options);
        }
        catch (JsonException parse)
        {
            error = $"The body is not valid JSON (line {(parse.LineNumber ?? 0) + 1}, byte {(parse.BytePositionInLine ?? 0) + 1}).";
            return false;
        }

        if (!Check(document.RootElement, out var stream, out var maxTokens, out error))
        {
            document.Dispose();
            return false;
        }

        request = new ChatRequest(document, stream, maxTokens, Math.Max(1, body.Length / 4));
        return true;
    }

    /// <summary>The text of the last <c>user</c> message (string content, or its text parts joined); empty if none.</summary>
    public string LastUserText()
    {
        var messages = Document.RootElement.GetProperty("messages");
        for (var i = messages.GetArrayLength() - 1; i >= 0; i--)
        {
            var message = messages[i];
            if (message.GetProperty("role").ValueEquals("user"u8))
            {
                return TextOf(message);
            }
        }

        return string.Empty;
    }

    /// <inheritdoc />
    public void Dispose() => Document.Dispose();

    /// <summary>The text of a message's <c>content</c>: a string, or the <c>text</c> of its text parts joined.</summary>
    internal static string TextOf(JsonElement message)
    {
        if (!message.TryGetProperty("content", out var content))
        {
            return string.Empty;
        }

        if (content.ValueKind == JsonValueKind.String)
        {
            return content.GetString()!;
        }

        if (content.ValueKind != JsonValueKind.Array)
        {
            return string.Empty;
        }

        var text = new StringBuilder();
        foreach (var part in content.EnumerateArray())
        {
            if (part.TryGetProperty("text", out var value) && value.ValueKind == JsonValueKind.String)
            {
                text.Append(value.GetString());
            }
        }

        return text.ToString();
    }

    private static bool Check(JsonElement root, out bool stream, out long? maxTokens, out string error)
    {
        stream = false;
        maxTokens = null;
        if (root.ValueKind != JsonValueKind.Object)
        {
            error = "The body must be a JSON object.";
            return false;
        }

        var hasMessages = false;
        foreach (var property in root.EnumerateObject())
        {
            switch (property.Name)
            {
                case "messages":
                    if (!CheckMessages(property.Value, out error))
                    {
                        return false;
                    }

                    hasMessages = true;
                    break;
                case "stream":
                    if (property.Value.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
                    {
                        error = "stream: must be true or false.";
                        return false;
                    }

                    stream = property.Value.ValueKind == JsonValueKind.True;
                    break;
                case "max_tokens" or "max_completion_tokens":
                    if (property.Value.ValueKind == JsonValueKind.Null)
                    {
                        break;
                    }

                    if (!property.Value.TryGetInt64(out var max) || max is < 1 or > MaxOutputTokensLimit)
                    {
                        error = $"{property.Name}: must be an integer between 1 and {MaxOutputTokensLimit}.";
                        return false;
                    }

                    maxTokens = max;
                    break;
                case "model":
                    if (property.Value.ValueKind is not (JsonValueKind.String or JsonValueKind.Null))
                    {
                        error = "model: must be a string.";
                        return false;
                    }

                    break;
                default:
                    break;
            }
        }

        if (!hasMessages)
        {
            error = "messages: required, a non-empty array of messages.";
            return false;
        }

        error = string.Empty;
        return true;
    }

    private static bool CheckMessages(JsonElement messages, out string error)
    {
        if (messages.ValueKind != JsonValueKind.Array || messages.GetArrayLength() is 0 or > MaxMessages)
        {
            error = $"messages: must be an array of 1 to {MaxMessages} messages.";
            return false;
        }

        var index = 0;
        foreach (var message in messages.EnumerateArray())
        {
            if (message.ValueKind != JsonValueKind.Object
                || !message.TryGetProperty("role", out var role) || role.ValueKind != JsonValueKind.String)
            {
                error = $"messages[{index}].role: required, a string.";
                return false;
            }

            if (message.TryGetProperty("content", out var content) && content.ValueKind is not (JsonValueKind.String or JsonValueKind.Array or JsonValueKind.Null))
            {
                error = $"messages[{index}].content: must be a string, an array of parts or null.";
                return false;
            }

            index++;
        }

        error = string.Empty;
        return true;
    }
}
