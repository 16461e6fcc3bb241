using System.Diagnostics;
using ControlPlane.Domain.Endpoints;
using ControlPlane.Domain.Routing;

namespace ControlPlane.Service.RequestLog;

/// <summary>One accepted outcome as the request log writes it. Strings are the outcome's (bounded by the node's
/// validation) or the snapshot's own; nothing here is formatted on the outcome path.</summary>
internal sealed class RequestLogRecord
{
    /// <summary>When the node accepted the outcome.</summary>
    public required DateTimeOffset Timestamp { get; init; }

    /// <summary>The outcome's <c>request_id</c>; null when it carried none.</summary>
    public string? RequestId { get; init; }

    /// <summary>The outcome's <c>decision_id</c>; null when it carried none (an unrouted outcome).</summary>
    public string? DecisionId { get; init; }

    /// <summary>The workload class (a fleet name).</summary>
    public required string WorkloadClass { get; init; }

    /// <summary>The endpoint that served the attempt (a fleet id).</summary>
    public required string Endpoint { get; init; }

    /// <summary>The endpoint's provider.</summary>
    public required string Provider { get; init; }

    /// <summary>The endpoint's pinned model (what the request was routed to).</summary>
    public required string RoutedModel { get; init; }

    /// <summary>The endpoint's region label.</summary>
    public required string Region { get; init; }

    /// <summary>The class's first primary when the decision was made (what it would have used); null when unknown.</summary>
    public string? PrimaryEndpoint { get; init; }

    /// <summary>That primary's pinned model.</summary>
    public string? PrimaryModel { get; init; }

    /// <summary>Why the decision went where it went; null when the decision id does not say (a version-2 id or an
    /// unrouted outcome): written as <c>"unknown"</c>.</summary>
    public RouteReason? Reason { get; init; }

    /// <summary>True when the attempt went to a fallback (the reason is not <c>primary</c>, or when unknown, the
    /// endpoint is not one of the class's primaries).</summary>
    public bool Fallback { get; init; }

    /// <summary>The node that accepted the outcome.</summary>
    public required string Node { get; init; }

    /// <summary>The outcome's status.</summary>
    public OutcomeStatus Status { get; init; }

    /// <summary>Latency in milliseconds.</summary>
    public long LatencyMs { get; init; }

    /// <summary>Time to first token in milliseconds.</summary>
    public long TtftMs { get; init; }

    /// <summary>Input tokens.</summary>
    public long InputTokens { get; init; }

    /// <summary>Output tokens.</summary>
    public long OutputTokens { get; init; }

    /// <summary>The decision's attempt number (0 for a first attempt).</summary>
    public int RetryCount { get; init; }

    /// <summary>The quality evaluation, if any.</summary>
    public QualityVerdict Quality { get; init; }

    /// <summary>The quality score in [0, 1], if any.</summary>
    public double? QualityScore { get; init; }

    /// <summary>The attempt's cost in USD at the endpoint's prices.</summary>
    public double CostUsd { get; init; }

    /// <summary>The model version the provider said it served; null when not reported.</summary>
    public string? ReturnedModelVersion { get; init; }

    /// <summary><c>completed</c>, <c>failed</c> or null.</summary>
    public string? WorkflowVerdict { get; init; }

    /// <summary>The trace of the ReportOutcome(s) call; default when there was none.</summary>
    public ActivityTraceId TraceId { get; init; }
}
