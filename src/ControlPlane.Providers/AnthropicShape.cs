using System.Buffers;
using System.Text;
using System.Text.Json;

namespace ControlPlane.Providers;

/// <summary>Translation between the OpenAI chat shape and Anthropic's messages API: system and developer messages
/// become <c>system</c>; user and assistant turns keep their text (a <c>tool</c> message becomes a user turn);
/// <c>max_tokens</c> (required by Anthropic) defaults to <see cref="ChatRequest.DefaultMaxOutputTokens"/>;
/// <c>temperature</c>, <c>top_p</c> and <c>stop</c> carry over. Answers come back as <c>chat.completion</c> bodies or
/// <c>chat.completion.chunk</c> events with usage, ending in <c>data: [DONE]</c>.</summary>
internal static class AnthropicShape
{
    public static void WriteRequest(IBufferWriter<byte> output, ChatRequest request, UpstreamEndpoint endpoint, bool stream)
    {
        var root = request.Document.RootElement;
        using var writer = new Utf8JsonWriter(output);
        writer.WriteStartObject();
        writer.WriteString("model"u8, endpoint.Model);
        writer.WriteNumber("max_tokens"u8, request.MaxOutputTokens);
        var system = new StringBuilder();
        writer.WriteStartArray("messages"u8);
        foreach (var message in root.GetProperty("messages").EnumerateArray())
        {
            var role = message.GetProperty("role").GetString();
            var text = ChatRequest.TextOf(message);
            if (role is "system" or "developer")
            {
                if (system.Length > 0)
                {
                    system.Append("\n\n");
                }

                system.Append(text);
                continue;
            }

            writer.WriteStartObject();
            writer.WriteString("role"u8, role == "assistant" ? "assistant" : "user");
            writer.WriteString("content"u8, text);
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        if (system.Length > 0)
        {
            writer.WriteString("system"u8, system.ToString());
        }

        foreach (var name in (ReadOnlySpan<string>)["temperature", "top_p"])
        {
            if (root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number)
            {
                writer.WritePropertyName(name);
                value.WriteTo(writer);
            }
        }

        if (root.TryGetProperty("stop", out var stop))
        {
            if (stop.ValueKind == JsonValueKind.String)
            {
                writer.WriteStartArray("stop_sequences"u8);
                writer.WriteStringValue(stop.GetString());
                writer.WriteEndArray();
            }
            else if (stop.ValueKind == JsonValueKind.Array)
            {
                writer.WriteStartArray("stop_sequences"u8);
                foreach (var item in stop.EnumerateArray())
                {
                    if (item.ValueKind == JsonValueKind.String)
                    {
                        writer.WriteStringValue(item.GetString());
                    }
                }

                writer.WriteEndArray();
            }
        }

        if (stream)
        {
            writer.WriteBoolean("stream"u8, true);
        }

        writer.WriteEndObject();
    }

    /// <summary>Translates a messages answer into a <c>chat.completion</c> body.</summary>
    public static bool TryTranslateAnswer(ReadOnlyMemory<byte> body, long created, out byte[] translated, out string content, out string? model,
        out long input, out long output, out string error)
    {
        translated = [];
        content = string.Empty;
        model = null;
        input = 0;
        output = 0;
        try
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("content", out var blocks) || blocks.ValueKind != JsonValueKind.Array)
            {
                error = "no content in the answer";
                return false;
            }

            var text = new StringBuilder();
            foreach (var block in blocks.EnumerateArray())
            {
                if (block.ValueKind == JsonValueKind.Object && OpenAiShape.StringOf(block, "type") == "text" && OpenAiShape.StringOf(block, "text") is { } part)
                {
                    text.Append(part);
                }
            }

            content = text.ToString();
            model = OpenAiShape.StringOf(root, "model");
            (input, output) = OpenAiShape.Usage(root, "input_tokens", "output_tokens");
            var buffer = new ArrayBufferWriter<byte>(content.Length + 512);
            using (var writer = new Utf8JsonWriter(buffer))
            {
                writer.WriteStartObject();
                writer.WriteString("id"u8, "chatcmpl-" + (OpenAiShape.StringOf(root, "id") ?? "anthropic"));
                writer.WriteString("object"u8, "chat.completion");
                writer.WriteNumber("created"u8, created);
                writer.WriteString("model"u8, model ?? string.Empty);
                writer.WriteStartArray("choices"u8);
                writer.WriteStartObject();
                writer.WriteNumber("index"u8, 0);
                writer.WriteStartObject("message"u8);
                writer.WriteString("role"u8, "assistant");
                writer.WriteString("content"u8, content);
                writer.WriteEndObject();
                writer.WriteString("finish_reason"u8, FinishReason(OpenAiShape.StringOf(root, "stop_reason")));
                writer.WriteEndObject();
                writer.WriteEndArray();
                WriteUsage(writer, input, output);
                writer.WriteEndObject();
            }

            translated = buffer.WrittenSpan.ToArray();
            error = string.Empty;
            return true;
        }
        catch (JsonException parse)
        {
            error = "the answer is not JSON: " + parse.Message;
            return false;
        }
    }

    /// <summary>Turns Anthropic stream events into OpenAI chunk events.</summary>
    internal sealed class StreamTranslator(long created)
    {
        private readonly ArrayBufferWriter<byte> _out = new(1024);
        private string _id = "chatcmpl-anthropic";
        private string? _finish;

        public OpenAiShape.StreamState State { get; } = new();

        /// <summary>Translates one event's data into zero or more OpenAI events (in <paramref name="events"/>, valid
        /// until the next call); returns whether it carried content.</summary>
        public bool Translate(ReadOnlySpan<byte> data, out ReadOnlyMemory<byte> events)
        {
            _out.ResetWrittenCount();
            events = default;
            if (data.IsEmpty)
            {
                return false;
            }

            var reader = new Utf8JsonReader(data);
            using var document = JsonDocument.ParseValue(ref reader);
            var root = document.RootElement;
            var content = false;
            switch (root.ValueKind == JsonValueKind.Object ? OpenAiShape.StringOf(root, "type") : null)
            {
                case "message_start":
                    if (root.TryGetProperty("message", out var message) && message.ValueKind == JsonValueKind.Object)
                    {
                        _id = "chatcmpl-" + (OpenAiShape.StringOf(message, "id") ?? "anthropic");
                        State.Model = OpenAiShape.StringOf(message, "model");
                        var (input, output) = OpenAiShape.Usage(message, "input_tokens", "output_tokens");
                        State.InputTokens = input;
                        State.OutputTokens = output;
                    }

                    WriteChunk(role: "assistant", text: string.Empty, finish: null);
                    break;
                case "content_block_delta":
                    if (root.TryGetProperty("delta", out var delta) && delta.ValueKind == JsonValueKind.Object
                        && OpenAiShape.StringOf(delta, "type") == "text_delta" && OpenAiShape.StringOf(delta, "text") is { Length: > 0 } text)
                    {
                        State.Content.Append(text);
                        content = true;
                        WriteChunk(role: null, text: text, finish: null);
                    }

                    break;
                case "message_delta":
                    if (root.TryGetProperty("delta", out var end) && end.ValueKind == JsonValueKind.Object)
                    {
                        _finish = FinishReason(OpenAiShape.StringOf(end, "stop_reason"));
                    }

                    var (_, outputTokens) = OpenAiShape.Usage(root, "input_tokens", "output_tokens");
                    if (outputTokens > 0)
                    {
                        State.OutputTokens = outputTokens;
                    }

                    break;
                case "message_stop":
                    WriteChunk(role: null, text: null, finish: _finish ?? "stop");
                    WriteUsageChunk();
                    "data: [DONE]\n\n"u8.CopyTo(_out.GetSpan(14));
                    _out.Advance(14);
                    State.Done = true;
                    break;
                case "error":
                    State.Error = root.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.Object
                        ? OpenAiShape.StringOf(error, "message") ?? error.ToString()
                        : root.ToString();
                    break;
                default:
                    break; // ping, content_block_start/stop: nothing to say
            }

            events = _out.WrittenMemory;
            return content;
        }

        private void WriteChunk(string? role, string? text, string? finish)
        {
            Begin();
            using (var writer = new Utf8JsonWriter(_out))
            {
                WriteChunkHead(writer);
                writer.WriteStartArray("choices"u8);
                writer.WriteStartObject();
                writer.WriteNumber("index"u8, 0);
                writer.WriteStartObject("delta"u8);
                if (role is not null)
                {
                    writer.WriteString("role"u8, role);
                }

                if (text is not null)
                {
                    writer.WriteString("content"u8, text);
                }

                writer.WriteEndObject();
                if (finish is null)
                {
                    writer.WriteNull("finish_reason"u8);
                }
                else
                {
                    writer.WriteString("finish_reason"u8, finish);
                }

                writer.WriteEndObject();
                writer.WriteEndArray();
                writer.WriteEndObject();
            }

            End();
        }

        private void WriteUsageChunk()
        {
            Begin();
            using (var writer = new Utf8JsonWriter(_out))
            {
                WriteChunkHead(writer);
                writer.WriteStartArray("choices"u8);
                writer.WriteEndArray();
                WriteUsage(writer, State.InputTokens, State.OutputTokens);
                writer.WriteEndObject();
            }

            End();
        }

        private void WriteChunkHead(Utf8JsonWriter writer)
        {
            writer.WriteStartObject();
            writer.WriteString("id"u8, _id);
            writer.WriteString("object"u8, "chat.completion.chunk");
            writer.WriteNumber("created"u8, created);
            writer.WriteString("model"u8, State.Model ?? string.Empty);
        }

        private void Begin()
        {
            "data: "u8.CopyTo(_out.GetSpan(6));
            _out.Advance(6);
        }

        private void End()
        {
            "\n\n"u8.CopyTo(_out.GetSpan(2));
            _out.Advance(2);
        }
    }

    private static void WriteUsage(Utf8JsonWriter writer, long input, long output)
    {
        writer.WriteStartObject("usage"u8);
        writer.WriteNumber("prompt_tokens"u8, input);
        writer.WriteNumber("completion_tokens"u8, output);
        writer.WriteNumber("total_tokens"u8, input + output);
        writer.WriteEndObject();
    }

    private static string FinishReason(string? stopReason) => stopReason switch
    {
        "max_tokens" => "length",
        "tool_use" => "tool_calls",
        "refusal" => "content_filter",
        _ => "stop",
    };
}
