using System.Collections;
using System.Globalization;

namespace ControlPlane.Service.RequestLog;

/// <summary>A record as a logger's structured state: the fields as name/value pairs (what the OpenTelemetry logger
/// exports as a log record's attributes), with the same names as the JSON line.</summary>
internal sealed class RequestLogState(RequestLogRecord record) : IReadOnlyList<KeyValuePair<string, object?>>
{
    /// <summary>The message template: the state's <c>{OriginalFormat}</c>.</summary>
    public const string Template = "request {request_id} {workload_class} {endpoint} {status} {route_reason}";

    private const int FieldCount = 26;

    public int Count => FieldCount;

    public KeyValuePair<string, object?> this[int index] => index switch
    {
        0 => new("timestamp", record.Timestamp.UtcDateTime),
        1 => new("request_id", record.RequestId),
        2 => new("decision_id", record.DecisionId),
        3 => new("workload_class", record.WorkloadClass),
        4 => new("primary_endpoint", record.PrimaryEndpoint),
        5 => new("primary_model", record.PrimaryModel),
        6 => new("routed_model", record.RoutedModel),
        7 => new("route_reason", RequestLogJson.ReasonName(record.Reason)),
        8 => new("fallback", record.Fallback),
        9 => new("provider", record.Provider),
        10 => new("endpoint", record.Endpoint),
        11 => new("region", record.Region),
        12 => new("node", record.Node),
        13 => new("latency_ms", record.LatencyMs),
        14 => new("ttft_ms", record.TtftMs),
        15 => new("input_tokens", record.InputTokens),
        16 => new("output_tokens", record.OutputTokens),
        17 => new("retry_count", record.RetryCount),
        18 => new("status", RequestLogJson.StatusName(record.Status)),
        19 => new("quality_eval", RequestLogJson.QualityName(record.Quality)),
        20 => new("quality_score", record.QualityScore),
        21 => new("cost_usd", record.CostUsd),
        22 => new("returned_model_version", record.ReturnedModelVersion),
        23 => new("workflow_verdict", record.WorkflowVerdict),
        24 => new("trace_id", RequestLogJson.TraceIdText(record)),
        25 => new("{OriginalFormat}", Template),
        _ => throw new ArgumentOutOfRangeException(nameof(index)),
    };

    public IEnumerator<KeyValuePair<string, object?>> GetEnumerator()
    {
        for (var i = 0; i < FieldCount; i++)
        {
            yield return this[i];
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>The rendered message (for loggers that print): request id, class, endpoint, status, reason.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"request {record.RequestId ?? "-"} {record.WorkloadClass} {record.Endpoint} {RequestLogJson.StatusName(record.Status)} {RequestLogJson.ReasonName(record.Reason)}");
}
