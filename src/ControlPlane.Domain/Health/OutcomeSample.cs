using ControlPlane.Domain.Endpoints;

namespace ControlPlane.Domain.Health;

/// <summary>How one attempt against an endpoint went, as reported by the data plane. A struct passed by
/// <c>in</c> so that recording it allocates nothing.</summary>
public readonly record struct OutcomeSample
{
    /// <summary>When the attempt finished; places the sample in a window bucket.</summary>
    public required DateTimeOffset At { get; init; }

    /// <summary>How the attempt ended.</summary>
    public required OutcomeStatus Status { get; init; }

    /// <summary>Total latency of the attempt. Only successful attempts feed the latency histogram.</summary>
    public TimeSpan Latency { get; init; }

    /// <summary>Time to first token of a streamed answer; zero when not streamed or not measured.</summary>
    public TimeSpan TimeToFirstToken { get; init; }

    /// <summary>Input (prompt) tokens billed.</summary>
    public int InputTokens { get; init; }

    /// <summary>Output (completion) tokens billed.</summary>
    public int OutputTokens { get; init; }

    /// <summary>Cost of the attempt in USD.</summary>
    public double Cost { get; init; }

    /// <summary>Quality verdict on the answer, if one was reported.</summary>
    public QualityVerdict Quality { get; init; }

    /// <summary>Quality score in [0, 1], if one was reported.</summary>
    public double? QualityScore { get; init; }

    /// <summary>The provider's Retry-After on a 429, if it sent one.</summary>
    public TimeSpan? RetryAfter { get; init; }
}
