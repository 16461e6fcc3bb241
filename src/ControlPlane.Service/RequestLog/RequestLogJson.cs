using System.Text.Json;
using ControlPlane.Domain.Endpoints;
using ControlPlane.Domain.Routing;

namespace ControlPlane.Service.RequestLog;

/// <summary>The JSON form of a <see cref="RequestLogRecord"/>: one object per line, written with
/// <see cref="Utf8JsonWriter"/> (no reflection), snake_case field names, every field always present (null when
/// unknown).</summary>
internal static class RequestLogJson
{
    /// <summary>The route reason written when the decision id does not carry one.</summary>
    public const string UnknownReason = "unknown";

    private static readonly string[] StatusNames =
        ["success", "server_error", "rate_limited", "timeout", "connection_error", "invalid_response", "content_filter", "client_error"];

    private static readonly JsonEncodedText Timestamp = JsonEncodedText.Encode("timestamp");
    private static readonly JsonEncodedText RequestId = JsonEncodedText.Encode("request_id");
    private static readonly JsonEncodedText DecisionId = JsonEncodedText.Encode("decision_id");
    private static readonly JsonEncodedText WorkloadClass = JsonEncodedText.Encode("workload_class");
    private static readonly JsonEncodedText PrimaryEndpoint = JsonEncodedText.Encode("primary_endpoint");
    private static readonly JsonEncodedText PrimaryModel = JsonEncodedText.Encode("primary_model");
    private static readonly JsonEncodedText RoutedModel = JsonEncodedText.Encode("routed_model");
    private static readonly JsonEncodedText RouteReasonName = JsonEncodedText.Encode("route_reason");
    private static readonly JsonEncodedText Fallback = JsonEncodedText.Encode("fallback");
    private static readonly JsonEncodedText Provider = JsonEncodedText.Encode("provider");
    private static readonly JsonEncodedText Endpoint = JsonEncodedText.Encode("endpoint");
    private static readonly JsonEncodedText Region = JsonEncodedText.Encode("region");
    private static readonly JsonEncodedText Node = JsonEncodedText.Encode("node");
    private static readonly JsonEncodedText LatencyMs = JsonEncodedText.Encode("latency_ms");
    private static readonly JsonEncodedText TtftMs = JsonEncodedText.Encode("ttft_ms");
    private static readonly JsonEncodedText InputTokens = JsonEncodedText.Encode("input_tokens");
    private static readonly JsonEncodedText OutputTokens = JsonEncodedText.Encode("output_tokens");
    private static readonly JsonEncodedText RetryCount = JsonEncodedText.Encode("retry_count");
    private static readonly JsonEncodedText Status = JsonEncodedText.Encode("status");
    private static readonly JsonEncodedText QualityEval = JsonEncodedText.Encode("quality_eval");
    private static readonly JsonEncodedText QualityScore = JsonEncodedText.Encode("quality_score");
    private static readonly JsonEncodedText CostUsd = JsonEncodedText.Encode("cost_usd");
    private static readonly JsonEncodedText ReturnedModelVersion = JsonEncodedText.Encode("returned_model_version");
    private static readonly JsonEncodedText WorkflowVerdict = JsonEncodedText.Encode("workflow_verdict");
    private static readonly JsonEncodedText TraceId = JsonEncodedText.Encode("trace_id");

    /// <summary>The wire name of a status (<c>server_error</c>).</summary>
    public static string StatusName(OutcomeStatus status) => (uint)status < (uint)StatusNames.Length ? StatusNames[(int)status] : "unknown";

    /// <summary>The route reason's wire name, or <see cref="UnknownReason"/>.</summary>
    public static string ReasonName(RouteReason? reason) => reason is { } r ? r.ToWireName() : UnknownReason;

    /// <summary><c>pass</c>, <c>fail</c> or null.</summary>
    public static string? QualityName(QualityVerdict quality) => quality switch
    {
        QualityVerdict.Pass => "pass",
        QualityVerdict.Fail => "fail",
        _ => null,
    };

    /// <summary>The trace id as 32 hex digits, or null.</summary>
    public static string? TraceIdText(RequestLogRecord record) => record.TraceId == default ? null : record.TraceId.ToHexString();

    /// <summary>Writes <paramref name="record"/> as one JSON object.</summary>
    public static void Write(Utf8JsonWriter json, RequestLogRecord record)
    {
        json.WriteStartObject();
        json.WriteString(Timestamp, record.Timestamp.UtcDateTime);
        WriteNullable(json, RequestId, record.RequestId);
        WriteNullable(json, DecisionId, record.DecisionId);
        json.WriteString(WorkloadClass, record.WorkloadClass);
        WriteNullable(json, PrimaryEndpoint, record.PrimaryEndpoint);
        WriteNullable(json, PrimaryModel, record.PrimaryModel);
        json.WriteString(RoutedModel, record.RoutedModel);
        json.WriteString(RouteReasonName, ReasonName(record.Reason));
        json.WriteBoolean(Fallback, record.Fallback);
        json.WriteString(Provider, record.Provider);
        json.WriteString(Endpoint, record.Endpoint);
        json.WriteString(Region, record.Region);
        json.WriteString(Node, record.Node);
        json.WriteNumber(LatencyMs, record.LatencyMs);
        json.WriteNumber(TtftMs, record.TtftMs);
        json.WriteNumber(InputTokens, record.InputTokens);
        json.WriteNumber(OutputTokens, record.OutputTokens);
        json.WriteNumber(RetryCount, record.RetryCount);
        json.WriteString(Status, StatusName(record.Status));
        WriteNullable(json, QualityEval, QualityName(record.Quality));
        if (record.QualityScore is { } score)
        {
            json.WriteNumber(QualityScore, score);
        }
        else
        {
            json.WriteNull(QualityScore);
        }

        json.WriteNumber(CostUsd, record.CostUsd);
        WriteNullable(json, ReturnedModelVersion, record.ReturnedModelVersion);
        WriteNullable(json, WorkflowVerdict, record.WorkflowVerdict);
        WriteNullable(json, TraceId, TraceIdText(record));
        json.WriteEndObject();
    }

    private static void WriteNullable(Utf8JsonWriter json, JsonEncodedText name, string? value)
    {
        if (value is null)
        {
            json.WriteNull(name);
        }
        else
        {
            json.WriteString(name, value);
        }
    }
}
