using ControlPlane.Domain.Endpoints;
using ControlPlane.Domain.Health;
using ControlPlane.Domain.Routing;
using Wire = ControlPlane.Contracts.V1;

namespace ControlPlane.Service.DataPlane;

// The fields every reported outcome carries, routed (RoutingNode.cs, Report) or synthetic (RoutingNode.Synthetic.cs),
// checked the same way: a known status, bounded timings, tokens, attempt and request id, a quality score in [0, 1].
internal sealed partial class RoutingNode
{
    /// <summary>Checks an outcome's common fields (<see cref="CheckOutcomeFields"/>, then the returned model version)
    /// and builds its sample, priced at <paramref name="endpoint"/>'s prices and stamped now.</summary>
    /// <param name="outcome">The reported outcome.</param>
    /// <param name="endpoint">The endpoint it names (already resolved).</param>
    /// <param name="changedModel">The returned model version when it differs from the endpoint's pinned one, else null.</param>
    private OutcomeSample ReadOutcome(Wire.Outcome outcome, EndpointDescriptor endpoint, out string? changedModel)
    {
        var (status, verdict, score) = CheckOutcomeFields(outcome);
        changedModel = Catalog.ReturnedModelVersion.Changed(outcome.ReturnedModelVersion, endpoint.ModelVersion);
        return new OutcomeSample
        {
            At = _time.GetUtcNow(),
            Status = status,
            Latency = TimeSpan.FromMilliseconds(outcome.LatencyMs),
            TimeToFirstToken = TimeSpan.FromMilliseconds(outcome.TtftMs),
            InputTokens = (int)outcome.InputTokens,
            OutputTokens = (int)outcome.OutputTokens,
            Cost = (double)((endpoint.PricePer1kInput * outcome.InputTokens) + (endpoint.PricePer1kOutput * outcome.OutputTokens)) / 1000.0,
            Quality = verdict,
            QualityScore = score,
            RetryAfter = outcome.RetryAfterMs > 0 ? TimeSpan.FromMilliseconds(outcome.RetryAfterMs) : null,
        };
    }

    /// <summary>Checks an outcome's common fields and maps its status and quality to the domain's; throws
    /// <see cref="RoutingRequestException"/> (invalid argument, naming the field) on the first bad one.</summary>
    private static (OutcomeStatus Status, QualityVerdict Verdict, double? Score) CheckOutcomeFields(Wire.Outcome outcome)
    {
        var status = outcome.Status switch
        {
            Wire.OutcomeStatus.Success => OutcomeStatus.Success,
            Wire.OutcomeStatus.ServerError => OutcomeStatus.ServerError,
            Wire.OutcomeStatus.RateLimited => OutcomeStatus.RateLimited,
            Wire.OutcomeStatus.Timeout => OutcomeStatus.Timeout,
            Wire.OutcomeStatus.ConnectionError => OutcomeStatus.ConnectionError,
            Wire.OutcomeStatus.InvalidResponse => OutcomeStatus.InvalidResponse,
            Wire.OutcomeStatus.ContentFilter => OutcomeStatus.ContentFilter,
            Wire.OutcomeStatus.ClientError => OutcomeStatus.ClientError,
            _ => throw Invalid("status", "must be set to a known OUTCOME_STATUS value"),
        };
        RequireRange(outcome.LatencyMs, MaxMilliseconds, "latency_ms");
        RequireRange(outcome.TtftMs, MaxMilliseconds, "ttft_ms");
        RequireRange(outcome.InputTokens, MaxTokens, "input_tokens");
        RequireRange(outcome.OutputTokens, MaxTokens, "output_tokens");
        RequireRange(outcome.RetryAfterMs, MaxMilliseconds, "retry_after_ms");
        RequireRange(outcome.Attempt, MaxAttempt, "attempt");
        RequireLength(outcome.RequestId, DecisionIds.MaxRequestIdLength, "request_id");

        var verdict = QualityVerdict.None;
        double? score = null;
        if (outcome.Quality is { } quality)
        {
            verdict = quality.Verdict switch
            {
                Wire.QualityVerdict.Pass => QualityVerdict.Pass,
                Wire.QualityVerdict.Fail => QualityVerdict.Fail,
                _ => QualityVerdict.None,
            };
            if (quality.HasScore)
            {
                if (!(quality.Score is >= 0 and <= 1))
                {
                    throw Invalid("quality.score", "must be in [0, 1]");
                }

                score = quality.Score;
            }
        }

        return (status, verdict, score);
    }
}
