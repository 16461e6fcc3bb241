using System.Buffers;
using System.Text;
using System.Text.Json;

namespace ControlPlane.Providers;

/// <summary>The OpenAI chat-completions shape: the upstream body is the caller's with <c>model</c> set to the
/// endpoint's model (and, for a stream, <c>stream_options.include_usage</c> on, so the last chunk carries usage).</summary>
internal static class OpenAiShape
{
    public static void WriteRequest(IBufferWriter<byte> output, ChatRequest request, UpstreamEndpoint endpoint, bool stream)
    {
        using var writer = new Utf8JsonWriter(output);
        writer.WriteStartObject();
        foreach (var property in request.Document.RootElement.EnumerateObject())
        {
            if (property.NameEquals("model"u8) || property.NameEquals("stream"u8) || property.NameEquals("stream_options"u8))
            {
                continue;
            }

            property.WriteTo(writer);
        }

        writer.WriteString("model"u8, endpoint.Model);
        writer.WriteBoolean("stream"u8, stream);
        if (stream)
        {
            writer.WriteStartObject("stream_options"u8);
            writer.WriteBoolean("include_usage"u8, true);
            writer.WriteEndObject();
        }

        writer.WriteEndObject();
    }

    /// <summary>Reads a <c>chat.completion</c> body: the first choice's content, the model and the usage.</summary>
    public static bool TryReadAnswer(ReadOnlyMemory<byte> body, out string content, out string? model, out long input, out long output, out string error)
    {
        content = string.Empty;
        model = null;
        input = 0;
        output = 0;
        try
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("choices", out var choices) || choices.ValueKind != JsonValueKind.Array || choices.GetArrayLength() == 0)
            {
                error = "no choices in the answer";
                return false;
            }

            if (choices[0].TryGetProperty("message", out var message) && message.ValueKind == JsonValueKind.Object)
            {
                content = ChatRequest.TextOf(message);
            }

            model = StringOf(root, "model");
            (input, output) = Usage(root, "prompt_tokens", "completion_tokens");
            error = string.Empty;
            return true;
        }
        catch (JsonException parse)
        {
            error = "the answer is not JSON: " + parse.Message;
            return false;
        }
    }

    /// <summary>What a stream has said so far.</summary>
    internal sealed class StreamState
    {
        public readonly StringBuilder Content = new();
        public string? Model;
        public long InputTokens;
        public long OutputTokens;
        public bool SawContent;
        public bool Done;
        public string? Error;
    }

    /// <summary>Reads one chunk's data: [DONE], an error, or a chunk with model, content delta and usage. Returns
    /// whether the chunk carried content (for TTFT).</summary>
    public static bool ReadChunk(ReadOnlySpan<byte> data, StreamState state)
    {
        if (data.SequenceEqual("[DONE]"u8))
        {
            state.Done = true;
            return false;
        }

        if (data.IsEmpty)
        {
            return false;
        }

        var reader = new Utf8JsonReader(data);
        using var document = JsonDocument.ParseValue(ref reader);
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new JsonException("a stream chunk is not a JSON object");
        }

        if (root.TryGetProperty("error", out var error))
        {
            state.Error = error.ValueKind == JsonValueKind.Object && error.TryGetProperty("message", out var message) && message.ValueKind == JsonValueKind.String
                ? message.GetString()
                : error.ToString();
            return false;
        }

        state.Model ??= StringOf(root, "model");
        var content = false;
        if (root.TryGetProperty("choices", out var choices) && choices.ValueKind == JsonValueKind.Array)
        {
            foreach (var choice in choices.EnumerateArray())
            {
                if (choice.ValueKind == JsonValueKind.Object && choice.TryGetProperty("delta", out var delta) && delta.ValueKind == JsonValueKind.Object
                    && delta.TryGetProperty("content", out var text) && text.ValueKind == JsonValueKind.String)
                {
                    var value = text.GetString()!;
                    if (value.Length > 0)
                    {
                        state.Content.Append(value);
                        content = true;
                    }
                }
            }
        }

        var (input, output) = Usage(root, "prompt_tokens", "completion_tokens");
        if (input > 0 || output > 0)
        {
            state.InputTokens = input;
            state.OutputTokens = output;
        }

        return content;
    }

    internal static string? StringOf(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    internal static (long Input, long Output) Usage(JsonElement root, string inputName, string outputName)
    {
        if (!root.TryGetProperty("usage", out var usage) || usage.ValueKind != JsonValueKind.Object)
        {
            return (0, 0);
        }

        return (Count(usage, inputName), Count(usage, outputName));
    }

    private static long Count(JsonElement usage, string name) =>
        usage.TryGetProperty(name, out var value) && value.TryGetInt64(out var n) && n is >= 0 and <= 1_000_000_000 ? n : 0;
}
