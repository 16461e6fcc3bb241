using ControlPlane.Domain.Endpoints;

namespace ControlPlane.Domain.Health;

/// <summary>Totals and percentiles of a <see cref="HealthWindow"/> over some span, at one moment.</summary>
public readonly record struct HealthSnapshot
{
    /// <summary>Start of the oldest bucket included.</summary>
    public DateTimeOffset From { get; init; }

    /// <summary>End of the newest bucket included.</summary>
    public DateTimeOffset To { get; init; }

    /// <summary>All attempts recorded.</summary>
    public long Requests { get; init; }

    /// <summary>Attempts that ended in <see cref="OutcomeStatus.Success"/>.</summary>
    public long Successes { get; init; }

    /// <summary>HTTP 5xx.</summary>
    public long ServerErrors { get; init; }

    /// <summary>HTTP 429s (not failures: the endpoint is cooling, not down).</summary>
    public long RateLimited { get; init; }

    /// <summary>Timeouts.</summary>
    public long Timeouts { get; init; }

    /// <summary>Connection errors.</summary>
    public long ConnectionErrors { get; init; }

    /// <summary>Malformed or schema-invalid responses.</summary>
    public long InvalidResponses { get; init; }

    /// <summary>Content-filter refusals.</summary>
    public long ContentFiltered { get; init; }

    /// <summary>Caller errors (4xx other than 429).</summary>
    public long ClientErrors { get; init; }

    /// <summary>Attempts that count against the endpoint (<see cref="OutcomeStatusExtensions.IsEndpointFailure"/>).</summary>
    public long Failures => ServerErrors + Timeouts + ConnectionErrors + InvalidResponses;

    /// <summary>Attempts the endpoint actually served: all but 429s, which it refused without trying.</summary>
    public long Served => Requests - RateLimited;

    /// <summary><see cref="Failures"/> / <see cref="Served"/>; 0 when nothing was served.</summary>
    public double ErrorRate => Served > 0 ? (double)Failures / Served : 0;

    /// <summary>Share of all attempts that were 429s; 0 when there were none.</summary>
    public double RateLimitedRate => Requests > 0 ? (double)RateLimited / Requests : 0;

    /// <summary>Input tokens billed.</summary>
    public long InputTokens { get; init; }

    /// <summary>Output tokens billed.</summary>
    public long OutputTokens { get; init; }

    /// <summary>Cost in USD.</summary>
    public double Cost { get; init; }

    /// <summary>Cost per successful attempt in USD; null without successes.</summary>
    public double? CostPerSuccess => Successes > 0 ? Cost / Successes : null;

    /// <summary>Quality verdicts that passed.</summary>
    public long QualityPasses { get; init; }

    /// <summary>Quality verdicts that failed.</summary>
    public long QualityFailures { get; init; }

    /// <summary>Verdicts reported (pass + fail).</summary>
    public long QualityVerdicts => QualityPasses + QualityFailures;

    /// <summary>Pass / (pass + fail); null without verdicts.</summary>
    public double? QualityPassRate => QualityVerdicts > 0 ? (double)QualityPasses / QualityVerdicts : null;

    /// <summary>Scores reported.</summary>
    public long QualityScores { get; init; }

    /// <summary>Mean reported score; null without scores.</summary>
    public double? MeanQualityScore { get; init; }

    /// <summary>Samples in the latency histogram (successful attempts).</summary>
    public long LatencySamples { get; init; }

    /// <summary>Median latency of successful attempts.</summary>
    public TimeSpan? LatencyP50 { get; init; }

    /// <summary>95th percentile latency of successful attempts.</summary>
    public TimeSpan? LatencyP95 { get; init; }

    /// <summary>99th percentile latency of successful attempts.</summary>
    public TimeSpan? LatencyP99 { get; init; }

    /// <summary>Samples in the time-to-first-token histogram.</summary>
    public long TtftSamples { get; init; }

    /// <summary>Median time to first token.</summary>
    public TimeSpan? TtftP50 { get; init; }

    /// <summary>95th percentile time to first token.</summary>
    public TimeSpan? TtftP95 { get; init; }

    /// <summary>99th percentile time to first token.</summary>
    public TimeSpan? TtftP99 { get; init; }

    /// <summary>Latency of the longest timed-out attempt (about the budget it was cut at); null without timeouts.
    /// Timeouts never feed the latency percentiles, which therefore only see answers faster than the budget.</summary>
    public TimeSpan? LongestTimeout { get; init; }
}
