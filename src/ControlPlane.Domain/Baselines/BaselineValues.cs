namespace ControlPlane.Domain.Baselines;

/// <summary>Published baselines; each is null until it has enough observations.</summary>
public readonly record struct BaselineValues
{
    /// <summary>Typical p95 latency of successful attempts.</summary>
    public TimeSpan? LatencyP95 { get; init; }

    /// <summary>Typical p95 time to first token.</summary>
    public TimeSpan? TtftP95 { get; init; }

    /// <summary>Typical quality pass rate in [0, 1].</summary>
    public double? QualityPassRate { get; init; }

    /// <summary>Typical cost in USD per successful task.</summary>
    public double? CostPerSuccess { get; init; }

    /// <summary>Typical output tokens per successful answer (only ever a seed: the <c>provider-output-length</c> alert
    /// keeps its own learned baseline, <see cref="Slo.OutputLengthWatch"/>).</summary>
    public double? OutputTokensPerSuccess { get; init; }

    /// <summary>No baselines yet.</summary>
    public static BaselineValues None => default;
}
