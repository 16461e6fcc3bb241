namespace ControlPlane.Providers;

/// <summary>What one successful upstream call returned.</summary>
public sealed class ChatAnswer
{
    /// <summary>The answer as an OpenAI <c>chat.completion</c> JSON body (the upstream's own bytes for an OpenAI
    /// upstream, a translation for Anthropic); empty for a stream (its events went to the caller's writer).</summary>
    public ReadOnlyMemory<byte> Body { get; init; }

    /// <summary>The assistant's text (the first choice's content; for a stream, its content deltas joined).</summary>
    public string Content { get; init; } = string.Empty;

    /// <summary>The served model the answer names (its <c>model</c> field), if any.</summary>
    public string? Model { get; init; }

    /// <summary>Input tokens the upstream counted (0 when it gave no usage).</summary>
    public long InputTokens { get; init; }

    /// <summary>Output tokens the upstream counted (0 when it gave no usage).</summary>
    public long OutputTokens { get; init; }

    /// <summary>Milliseconds from sending the request to the first content chunk of a stream; 0 for a non-streamed
    /// answer (not observable).</summary>
    public long TimeToFirstTokenMs { get; init; }

    /// <summary>Milliseconds from sending the request to the end of the answer.</summary>
    public long LatencyMs { get; init; }
}
