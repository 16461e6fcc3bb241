using System.Text.Json;

namespace ControlPlane.Simulator.Protocol;

/// <summary>Which provider API shape a request used.</summary>
internal enum ApiShape
{
    /// <summary>OpenAI <c>POST /v1/chat/completions</c>.</summary>
    OpenAi,

    /// <summary>Anthropic <c>POST /v1/messages</c>.</summary>
    Anthropic,
}

/// <summary>What the simulator needs from a chat request.</summary>
/// <param name="Prompt">The text of the last user message (what the grader's expectation hashes).</param>
/// <param name="PromptChars">Characters of every message and the system prompt (input tokens ≈ chars / 4).</param>
/// <param name="Stream">True for <c>stream: true</c>.</param>
/// <param name="MaxTokens">The request's output cap (<c>max_tokens</c> / <c>max_completion_tokens</c>); null: none.</param>
internal sealed record ChatRequest(string Prompt, long PromptChars, bool Stream, int? MaxTokens)
{
    /// <summary>Input tokens: about one per four characters, at least one.</summary>
    public long InputTokens => Math.Max(1, (PromptChars + 3) / 4);
}

/// <summary>A request the simulator refuses with 400, naming the field.</summary>
/// <param name="Param">The offending field (OpenAI's <c>param</c>).</param>
/// <param name="Message">What is wrong.</param>
internal sealed record RequestProblem(string? Param, string Message);

/// <summary>Reads chat requests of both API shapes with bounds on size, depth and counts.</summary>
internal static class ChatRequestParser
{
    /// <summary>The largest <c>max_tokens</c> accepted.</summary>
    public const int MaxOutputTokensCap = 1_000_000;

    private static readonly JsonDocumentOptions Options = new() { MaxDepth = 32, AllowTrailingCommas = false, CommentHandling = JsonCommentHandling.Disallow };

    /// <summary>Parses <paramref name="body"/>; either a request or a problem.</summary>
    public static (ChatRequest? Request, RequestProblem? Problem) Parse(ReadOnlyMemory<byte> body, ApiShape shape, int maxMessages)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body, Options);
        }
        catch (JsonException e)
        {
            return (null, new RequestProblem(null, "We could not parse the JSON body of your request: " + e.Message));
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return (null, new RequestProblem(null, "The request body must be a JSON object."));
            }

            if (!root.TryGetProperty("messages", out var messages) || messages.ValueKind != JsonValueKind.Array)
            {
                return (null, new RequestProblem("messages", "'messages' is a required array."));
            }

            int count = messages.GetArrayLength();
            if (count == 0)
            {
                return (null, new RequestProblem("messages", "'messages' must not be empty."));
            }

            if (count > maxMessages)
            {
                return (null, new RequestProblem("messages", $"'messages' has {count} items; at most {maxMessages} are accepted."));
            }

            long chars = 0;
            string? lastUser = null;
            int index = 0;
            foreach (var message in messages.EnumerateArray())
            {
                string param = $"messages[{index}]";
                if (message.ValueKind != JsonValueKind.Object
                    || !message.TryGetProperty("role", out var role) || role.ValueKind != JsonValueKind.String)
                {
                    return (null, new RequestProblem(param + ".role", $"'{param}' must be an object with a string 'role'."));
                }

                if (!message.TryGetProperty("content", out var content))
                {
                    if (role.ValueEquals("assistant"u8))
                    {
                        index++;
                        continue;
                    }

                    return (null, new RequestProblem(param + ".content", $"'{param}.content' is required."));
                }

                if (!TryText(content, out string? text))
                {
                    return (null, new RequestProblem(param + ".content", $"'{param}.content' must be a string or an array of content parts."));
                }

                chars = checked(chars + text!.Length);
                if (role.ValueEquals("user"u8))
                {
                    lastUser = text;
                }

                index++;
            }

            if (shape == ApiShape.Anthropic && root.TryGetProperty("system", out var system) && system.ValueKind != JsonValueKind.Null)
            {
                if (!TryText(system, out string? systemText))
                {
                    return (null, new RequestProblem("system", "'system' must be a string or an array of text blocks."));
                }

                chars = checked(chars + systemText!.Length);
            }

            if (lastUser is null)
            {
                return (null, new RequestProblem("messages", "'messages' must contain a message with role 'user'."));
            }

            bool stream = false;
            if (root.TryGetProperty("stream", out var streamElement) && streamElement.ValueKind != JsonValueKind.Null)
            {
                if (streamElement.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
                {
                    return (null, new RequestProblem("stream", "'stream' must be a boolean."));
                }

                stream = streamElement.GetBoolean();
            }

            int? maxTokens = null;
            foreach (string name in (string[])["max_completion_tokens", "max_tokens"])
            {
                if (!root.TryGetProperty(name, out var cap) || cap.ValueKind == JsonValueKind.Null)
                {
                    continue;
                }

                if (cap.ValueKind != JsonValueKind.Number || !cap.TryGetInt32(out int value) || value is < 1 or > MaxOutputTokensCap)
                {
                    return (null, new RequestProblem(name, $"'{name}' must be an integer between 1 and {MaxOutputTokensCap}."));
                }

                maxTokens = maxTokens is { } other ? Math.Min(other, value) : value;
            }

            return (new ChatRequest(lastUser, chars, stream, maxTokens), null);
        }
    }

    // A string, or an array of parts whose text parts ({"type":"text","text":...}) are joined; other parts count nothing.
    private static bool TryText(JsonElement content, out string? text)
    {
        if (content.ValueKind == JsonValueKind.String)
        {
            text = content.GetString()!;
            return true;
        }

        text = null;
        if (content.ValueKind != JsonValueKind.Array)
        {
            return false;
        }

        var joined = new System.Text.StringBuilder();
        foreach (var part in content.EnumerateArray())
        {
            if (part.ValueKind != JsonValueKind.Object)
            {
                return false;
            }

            if (part.TryGetProperty("text", out var partText))
            {
                if (partText.ValueKind != JsonValueKind.String)
                {
                    return false;
                }

                if (joined.Length > 0)
                {
                    joined.Append('\n');
                }

                joined.Append(partText.GetString());
            }
        }

        text = joined.ToString();
        return true;
    }
}
