using System.Diagnostics;
using ControlPlane.Domain.Endpoints;
using ControlPlane.Domain.Health;
using ControlPlane.Domain.Routing;
using ControlPlane.Service.RequestLog;
using Wire = ControlPlane.Contracts.V1;

namespace ControlPlane.Service.DataPlane;

// What the request log needs from a decision and its outcome. Route fills the decision's primary (the snapshot's own
// strings: no allocation); the decision id carries the reason and the primary's fleet index, so the node that accepts
// the outcome (maybe not the one that decided) recovers both. Report builds one record per accepted outcome and hands
// it to the background writer (docs/request-log.md).
internal sealed partial class RoutingNode
{
    private readonly RequestLogWriter? _requestLog;

    private static void SetPrimary(Wire.RouteDecision reply, RoutingSnapshot snapshot, int primary)
    {
        if (primary >= 0)
        {
            var endpoint = snapshot.EndpointAt(primary);
            reply.PrimaryEndpointId = endpoint.Id;
            reply.PrimaryModel = endpoint.Model;
        }
    }

    private void LogRequest(Wire.Outcome outcome, RoutingSnapshot snapshot, int classIndex, EndpointDescriptor endpoint, in OutcomeSample sample,
        DecisionClaim claim, bool notPrimary)
    {
        var log = _requestLog!;
        // A reason from the id when it has one (version 3); otherwise the endpoint's role in the class decides.
        var fallback = claim.Reason is { } reason ? reason != RouteReason.Primary : notPrimary;
        var key = claim.RequestKey != 0 ? claim.RequestKey : claim.Key;
        if (!RequestLogSampler.Keep(log.SampleRate, key, sample.Status, fallback, sample.Quality))
        {
            return;
        }

        // The primary named by the decision id when the fleet still has it; else the class's current first primary.
        var primary = claim.PrimaryIndex >= 0 && claim.PrimaryIndex < snapshot.EndpointCount ? claim.PrimaryIndex : snapshot.FirstPrimaryOf(classIndex);
        var primaryEndpoint = primary >= 0 ? snapshot.EndpointAt(primary) : null;
        log.Write(new RequestLogRecord
        {
            Timestamp = sample.At,
            RequestId = outcome.RequestId.Length > 0 ? outcome.RequestId : null,
            DecisionId = outcome.DecisionId.Length > 0 ? outcome.DecisionId : null,
            WorkloadClass = snapshot.ClassAt(classIndex).Name,
            Endpoint = endpoint.Id,
            Provider = endpoint.Provider,
            RoutedModel = endpoint.Model,
            Region = endpoint.Region,
            PrimaryEndpoint = primaryEndpoint?.Id,
            PrimaryModel = primaryEndpoint?.Model,
            Reason = claim.Reason,
            Fallback = fallback,
            Node = _options.NodeId,
            Status = sample.Status,
            LatencyMs = outcome.LatencyMs,
            TtftMs = outcome.TtftMs,
            InputTokens = outcome.InputTokens,
            OutputTokens = outcome.OutputTokens,
            RetryCount = claim.Attempt,
            Quality = sample.Quality,
            QualityScore = sample.QualityScore,
            CostUsd = sample.Cost,
            ReturnedModelVersion = outcome.ReturnedModelVersion.Length > 0 ? outcome.ReturnedModelVersion : null,
            WorkflowVerdict = outcome.WorkflowVerdict switch
            {
                Wire.WorkflowVerdict.Completed => "completed",
                Wire.WorkflowVerdict.Failed => "failed",
                _ => null,
            },
            TraceId = Activity.Current?.TraceId ?? default,
        });
    }
}
