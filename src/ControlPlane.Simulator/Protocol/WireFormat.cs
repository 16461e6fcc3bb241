using System.Buffers;
using System.Text;
using System.Text.Json;

namespace ControlPlane.Simulator.Protocol;

/// <summary>One answer as the simulator will send it.</summary>
/// <param name="Id">The response id.</param>
/// <param name="Model">The <c>model</c> the answer reports (the pinned version, or a model change's).</param>
/// <param name="Content">The answer text.</param>
/// <param name="InputTokens">Usage: input tokens.</param>
/// <param name="OutputTokens">Usage: output tokens.</param>
/// <param name="Truncated">True when the output hit the request's <c>max_tokens</c>.</param>
/// <param name="Created">Unix seconds of the answer.</param>
internal sealed record Answer(string Id, string Model, string Content, long InputTokens, long OutputTokens, bool Truncated, long Created);

/// <summary>Errors the simulator answers with, in each provider's vocabulary.</summary>
internal enum ErrorKind
{
    /// <summary>Malformed request (400).</summary>
    InvalidRequest,

    /// <summary>Prompt over the context window (400).</summary>
    ContextLength,

    /// <summary>Rate limited (429).</summary>
    RateLimit,

    /// <summary>Server error (500).</summary>
    Server,

    /// <summary>Overloaded / unavailable (503).</summary>
    Overloaded,

    /// <summary>No such route (404).</summary>
    NotFound,

    /// <summary>Body too large (413).</summary>
    TooLarge,
}

/// <summary>A provider's wire shape: bodies, stream frames and errors.</summary>
internal abstract class WireFormat
{
    /// <summary>The OpenAI chat completions shape.</summary>
    public static WireFormat OpenAi { get; } = new OpenAiFormat();

    /// <summary>The Anthropic messages shape.</summary>
    public static WireFormat Anthropic { get; } = new AnthropicFormat();

    /// <summary>The non-streaming response body.</summary>
    public abstract byte[] Complete(Answer answer);

    /// <summary>The frames sent before the first content delta.</summary>
    public abstract byte[] StreamStart(Answer answer);

    /// <summary>One content delta frame.</summary>
    public abstract byte[] StreamDelta(Answer answer, string text);

    /// <summary>The closing frames, usage included.</summary>
    public abstract byte[] StreamEnd(Answer answer);

    /// <summary>An error body naming <paramref name="param"/> where there is one.</summary>
    public abstract byte[] Error(ErrorKind kind, string message, string? param);

    /// <summary>The HTTP status of an error kind.</summary>
    public static int Status(ErrorKind kind) => kind switch
    {
        ErrorKind.InvalidRequest or ErrorKind.ContextLength => 400,
        ErrorKind.NotFound => 404,
        ErrorKind.TooLarge => 413,
        ErrorKind.RateLimit => 429,
        ErrorKind.Overloaded => 503,
        _ => 500,
    };

    // Provider APIs do not escape quotes and apostrophes as \u0027; neither does the simulator (bodies are JSON, never HTML).
    private static readonly JsonWriterOptions RelaxedWriter = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Writes JSON with <paramref name="write"/> into a byte array.</summary>
    protected static byte[] Json(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer, RelaxedWriter))
        {
            write(writer);
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>An SSE frame: optional <c>event:</c> line, the <c>data:</c> line, a blank line.</summary>
    protected static void Frame(List<byte> into, string? eventName, byte[] data)
    {
        if (eventName is not null)
        {
            into.AddRange(Encoding.UTF8.GetBytes("event: " + eventName + "\n"));
        }

        into.AddRange("data: "u8.ToArray());
        into.AddRange(data);
        into.AddRange("\n\n"u8.ToArray());
    }

    private sealed class OpenAiFormat : WireFormat
    {
        public override byte[] Complete(Answer answer) => Json(w =>
        {
            w.WriteStartObject();
            w.WriteString("id", answer.Id);
            w.WriteString("object", "chat.completion");
            w.WriteNumber("created", answer.Created);
            w.WriteString("model", answer.Model);
            w.WriteStartArray("choices");
            w.WriteStartObject();
            w.WriteNumber("index", 0);
            w.WriteStartObject("message");
            w.WriteString("role", "assistant");
            w.WriteString("content", answer.Content);
            w.WriteEndObject();
            w.WriteString("finish_reason", answer.Truncated ? "length" : "stop");
            w.WriteEndObject();
            w.WriteEndArray();
            WriteUsage(w, answer);
            w.WriteEndObject();
        });

        public override byte[] StreamStart(Answer answer)
        {
            var frames = new List<byte>();
            Frame(frames, null, Chunk(answer, w => w.WriteString("role", "assistant"), w => w.WriteString("content", ""), null));
            return [.. frames];
        }

        public override byte[] StreamDelta(Answer answer, string text)
        {
            var frames = new List<byte>();
            Frame(frames, null, Chunk(answer, w => w.WriteString("content", text), null, null));
            return [.. frames];
        }

        public override byte[] StreamEnd(Answer answer)
        {
            var frames = new List<byte>();
            Frame(frames, null, Chunk(answer, null, null, answer.Truncated ? "length" : "stop"));
            Frame(frames, null, Json(w =>
            {
                WriteChunkHeader(w, answer);
                w.WriteStartArray("choices");
                w.WriteEndArray();
                WriteUsage(w, answer);
                w.WriteEndObject();
            }));
            frames.AddRange("data: [DONE]\n\n"u8.ToArray());
            return [.. frames];
        }

        public override byte[] Error(ErrorKind kind, string message, string? param) => Json(w =>
        {
            w.WriteStartObject();
            w.WriteStartObject("error");
            w.WriteString("message", message);
            w.WriteString("type", kind switch
            {
                ErrorKind.InvalidRequest or ErrorKind.ContextLength or ErrorKind.NotFound or ErrorKind.TooLarge => "invalid_request_error",
                ErrorKind.RateLimit => "rate_limit_error",
                ErrorKind.Overloaded => "server_error",
                _ => "server_error",
            });
            if (param is null)
            {
                w.WriteNull("param");
            }
            else
            {
                w.WriteString("param", param);
            }

            switch (kind)
            {
                case ErrorKind.ContextLength:
                    w.WriteString("code", "context_length_exceeded");
                    break;
                case ErrorKind.RateLimit:
                    w.WriteString("code", "rate_limit_exceeded");
                    break;
                default:
                    w.WriteNull("code");
                    break;
            }

            w.WriteEndObject();
            w.WriteEndObject();
        });

        private static void WriteChunkHeader(Utf8JsonWriter w, Answer answer)
        {
            w.WriteStartObject();
            w.WriteString("id", answer.Id);
            w.WriteString("object", "chat.completion.chunk");
            w.WriteNumber("created", answer.Created);
            w.WriteString("model", answer.Model);
        }

        private static byte[] Chunk(Answer answer, Action<Utf8JsonWriter>? first, Action<Utf8JsonWriter>? second, string? finish) => Json(w =>
        {
            WriteChunkHeader(w, answer);
            w.WriteStartArray("choices");
            w.WriteStartObject();
            w.WriteNumber("index", 0);
            w.WriteStartObject("delta");
            first?.Invoke(w);
            second?.Invoke(w);
            w.WriteEndObject();
            if (finish is null)
            {
                w.WriteNull("finish_reason");
            }
            else
            {
                w.WriteString("finish_reason", finish);
            }

            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteEndObject();
        });

        private static void WriteUsage(Utf8JsonWriter w, Answer answer)
        {
            w.WriteStartObject("usage");
            w.WriteNumber("prompt_tokens", answer.InputTokens);
            w.WriteNumber("completion_tokens", answer.OutputTokens);
            w.WriteNumber("total_tokens", answer.InputTokens + answer.OutputTokens);
            w.WriteEndObject();
        }
    }

    private sealed class AnthropicFormat : WireFormat
    {
        public override byte[] Complete(Answer answer) => Json(w =>
        {
            w.WriteStartObject();
            w.WriteString("id", answer.Id);
            w.WriteString("type", "message");
            w.WriteString("role", "assistant");
            w.WriteString("model", answer.Model);
            w.WriteStartArray("content");
            w.WriteStartObject();
            w.WriteString("type", "text");
            w.WriteString("text", answer.Content);
            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteString("stop_reason", answer.Truncated ? "max_tokens" : "end_turn");
            w.WriteNull("stop_sequence");
            w.WriteStartObject("usage");
            w.WriteNumber("input_tokens", answer.InputTokens);
            w.WriteNumber("output_tokens", answer.OutputTokens);
            w.WriteEndObject();
            w.WriteEndObject();
        });

        public override byte[] StreamStart(Answer answer)
        {
            var frames = new List<byte>();
            Frame(frames, "message_start", Json(w =>
            {
                w.WriteStartObject();
                w.WriteString("type", "message_start");
                w.WriteStartObject("message");
                w.WriteString("id", answer.Id);
                w.WriteString("type", "message");
                w.WriteString("role", "assistant");
                w.WriteString("model", answer.Model);
                w.WriteStartArray("content");
                w.WriteEndArray();
                w.WriteNull("stop_reason");
                w.WriteNull("stop_sequence");
                w.WriteStartObject("usage");
                w.WriteNumber("input_tokens", answer.InputTokens);
                w.WriteNumber("output_tokens", 1);
                w.WriteEndObject();
                w.WriteEndObject();
                w.WriteEndObject();
            }));
            Frame(frames, "content_block_start", Json(w =>
            {
                w.WriteStartObject();
                w.WriteString("type", "content_block_start");
                w.WriteNumber("index", 0);
                w.WriteStartObject("content_block");
                w.WriteString("type", "text");
                w.WriteString("text", "");
                w.WriteEndObject();
                w.WriteEndObject();
            }));
            Frame(frames, "ping", """{"type":"ping"}"""u8.ToArray());
            return [.. frames];
        }

        public override byte[] StreamDelta(Answer answer, string text)
        {
            var frames = new List<byte>();
            Frame(frames, "content_block_delta", Json(w =>
            {
                w.WriteStartObject();
                w.WriteString("type", "content_block_delta");
                w.WriteNumber("index", 0);
                w.WriteStartObject("delta");
                w.WriteString("type", "text_delta");
                w.WriteString("text", text);
                w.WriteEndObject();
                w.WriteEndObject();
            }));
            return [.. frames];
        }

        public override byte[] StreamEnd(Answer answer)
        {
            var frames = new List<byte>();
            Frame(frames, "content_block_stop", """{"type":"content_block_stop","index":0}"""u8.ToArray());
            Frame(frames, "message_delta", Json(w =>
            {
                w.WriteStartObject();
                w.WriteString("type", "message_delta");
                w.WriteStartObject("delta");
                w.WriteString("stop_reason", answer.Truncated ? "max_tokens" : "end_turn");
                w.WriteNull("stop_sequence");
                w.WriteEndObject();
                w.WriteStartObject("usage");
                w.WriteNumber("input_tokens", answer.InputTokens);
                w.WriteNumber("output_tokens", answer.OutputTokens);
                w.WriteEndObject();
                w.WriteEndObject();
            }));
            Frame(frames, "message_stop", """{"type":"message_stop"}"""u8.ToArray());
            return [.. frames];
        }

        public override byte[] Error(ErrorKind kind, string message, string? param) => Json(w =>
        {
            w.WriteStartObject();
            w.WriteString("type", "error");
            w.WriteStartObject("error");
            w.WriteString("type", kind switch
            {
                ErrorKind.InvalidRequest or ErrorKind.ContextLength => "invalid_request_error",
                ErrorKind.NotFound => "not_found_error",
                ErrorKind.TooLarge => "request_too_large",
                ErrorKind.RateLimit => "rate_limit_error",
                ErrorKind.Overloaded => "overloaded_error",
                _ => "api_error",
            });
            w.WriteString("message", param is null ? message : $"{param}: {message}");
            w.WriteEndObject();
            w.WriteEndObject();
        });
    }
}
