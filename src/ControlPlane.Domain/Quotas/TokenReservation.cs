namespace ControlPlane.Domain.Quotas;

/// <summary>What admission reserves for one request: the estimated input tokens, the maximum output tokens
/// and one request. Maps one to one to the wire <c>TokenReservation</c> message.</summary>
/// <param name="InputTokens">Estimated input (prompt) tokens.</param>
/// <param name="OutputTokens">Maximum output tokens the request may produce.</param>
/// <param name="Requests">Requests reserved (1 for a normal attempt).</param>
public readonly record struct TokenReservation(long InputTokens, long OutputTokens, long Requests)
{
    /// <summary>Tokens reserved in total (input plus maximum output).</summary>
    public long Tokens => InputTokens + OutputTokens;

    /// <summary>The reservation for one request; negative figures are treated as zero.</summary>
    public static TokenReservation ForRequest(long estimatedInputTokens, long maxOutputTokens) =>
        new(Math.Max(0, estimatedInputTokens), Math.Max(0, maxOutputTokens), 1);
}
