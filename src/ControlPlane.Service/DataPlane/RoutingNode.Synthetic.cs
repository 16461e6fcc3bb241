using ControlPlane.Domain.Endpoints;
using ControlPlane.Domain.Health;
using ControlPlane.Domain.Routing;
using ControlPlane.Service.Grains;
using Wire = ControlPlane.Contracts.V1;

namespace ControlPlane.Service.DataPlane;

// Synthetic outcomes (Outcome.synthetic, docs/evals.md): a prober's graded calls made directly to an endpoint. They
// carry no decision and no class, reserve and reconcile nothing, and are flushed to the endpoint grain only (its health
// window, returned model version and recovery gate); the service admits them only from a caller with the prober role.
internal sealed partial class RoutingNode
{
    private void ReportSynthetic(Wire.Outcome outcome, RoutingSnapshot snapshot, int endpointIndex)
    {
        if (outcome.WorkloadClass.Length > 0)
        {
            throw Invalid("workload_class", "must be empty on a synthetic outcome (it belongs to no workload class)");
        }

        if (outcome.DecisionId.Length > 0)
        {
            throw Invalid("decision_id", "must be empty on a synthetic outcome (the prober called the endpoint directly)");
        }

        if (outcome.WorkflowVerdict != Wire.WorkflowVerdict.Unspecified)
        {
            throw Invalid("workflow_verdict", "must be unspecified on a synthetic outcome");
        }

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

        var endpoint = snapshot.EndpointAt(endpointIndex);
        var changedModel = Catalog.ReturnedModelVersion.Changed(outcome.ReturnedModelVersion, endpoint.ModelVersion);
        var sample = new OutcomeSample
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

        // The request id, when given, is the duplicate key: a re-sent synthetic outcome counts once at the grain.
        var key = outcome.RequestId.Length > 0 ? DecisionIds.RequestKey("synthetic:" + outcome.RequestId) : 0;
        _outcomes.Enqueue(new OutcomeRecord(outcome.EndpointId, "", sample, Fallback: false, key, 0, outcome.Attempt)
        {
            ReturnedModelVersion = changedModel,
            Synthetic = true,
        });
        if (Interlocked.Increment(ref _queuedOutcomes) > _options.MaxQueuedOutcomes)
        {
            var dropped = 0;
            while (Volatile.Read(ref _queuedOutcomes) > _options.MaxQueuedOutcomes && _outcomes.TryDequeue(out _))
            {
                Interlocked.Decrement(ref _queuedOutcomes);
                dropped++;
            }

            _metrics.OutcomesDropped(dropped);
        }
    }
}
