namespace ControlPlane.Drills.Traffic;

/// <summary>One drill request as the client saw it.</summary>
/// <param name="Class">Its workload class.</param>
/// <param name="StartSeconds">When it was sent, on the drill clock.</param>
/// <param name="LatencyMs">Until the last byte (or the failure).</param>
/// <param name="TtftMs">Until the first content chunk (streamed requests only).</param>
/// <param name="Status">HTTP status (0: no response).</param>
/// <param name="Ok">Answered in full (2xx, and for a stream its <c>[DONE]</c>): counts as available.</param>
/// <param name="QualityPass">Whether the content held the expected grader substring (null: no content).</param>
/// <param name="Served">Who served it, per the target's headers.</param>
/// <param name="InputTokens">Usage reported.</param>
/// <param name="OutputTokens">Usage reported.</param>
/// <param name="Streamed">Whether it asked for a stream.</param>
public sealed record RequestSample(string Class, double StartSeconds, double LatencyMs, double? TtftMs, int Status, bool Ok, bool? QualityPass,
    Targets.ServedBy Served, long InputTokens, long OutputTokens, bool Streamed)
{
    /// <summary>Why it failed, when it did (short text).</summary>
    public string? Error { get; init; }

    /// <summary>Cut off by the end of the drill (excluded from availability).</summary>
    public bool Abandoned { get; init; }
}
