using System.Buffers.Binary;
using System.Buffers.Text;
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using ControlPlane.Service.DataPlane;
using ControlPlane.Service.RequestLog;
using ControlPlane.Service.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Wire = ControlPlane.Contracts.V1;

namespace ControlPlane.Service.Tests.RequestLog;

/// <summary>The request log of a routing node: one record per accepted outcome, field by field, also when the outcome
/// of a decision made on one node is reported to another (the reason and the primary travel in the decision id);
/// version-2 ids still verify; refused outcomes are not logged; sampling keeps errors and fallbacks.</summary>
public sealed class RequestLogNodeTests : IDisposable
{
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow);
    private readonly TestStorage _storage = new();
    private readonly RequestLogFiles _files = new();
    private readonly byte[] _key = RandomNumberGenerator.GetBytes(32);

    [Fact]
    public async Task Records_match_outcomes_field_by_field_including_a_fallback_decided_on_node_A_and_reported_to_node_B()
    {
        await using var node = await StartAsync();
        await using var nodeB = await StartSecondNodeAsync(node, "node-b");

        var decision = node.Node.Route(Request("req-1", 0), null);
        Assert.Equal("primary", decision.RouteReason);
        // The decision names what the class would have used: its first primary.
        Assert.Equal(("openai-gpt4o-us", "gpt-4o"), (decision.PrimaryEndpointId, decision.PrimaryModel));
        // Set from the snapshot's own strings: Route allocates nothing more for them.
        Assert.True(node.Node.Snapshot.TryGetEndpointIndex("openai-gpt4o-us", out var primaryIndex));
        Assert.Same(node.Node.Snapshot.EndpointAt(primaryIndex).Model, decision.PrimaryModel);
        Assert.Same(node.Node.Snapshot.EndpointAt(primaryIndex).Id, decision.PrimaryEndpointId);
        var outcome = new Wire.Outcome
        {
            DecisionId = decision.DecisionId,
            EndpointId = decision.EndpointId,
            WorkloadClass = "customer_chat",
            RequestId = "req-1",
            Status = Wire.OutcomeStatus.ServerError,
            LatencyMs = 812,
            TtftMs = 95,
            InputTokens = 1_200,
            OutputTokens = 340,
            ReturnedModelVersion = decision.ModelVersion,
            Quality = new Wire.Quality { Verdict = Wire.QualityVerdict.Fail, Score = 0.42 },
        };
        string traceId;
        // The call's activity (Grpc.AspNetCore's request activity in a server), current while Report runs.
        using (var activity = new Activity("ReportOutcome").SetIdFormat(ActivityIdFormat.W3C).Start())
        {
            traceId = activity.TraceId.ToHexString();
            node.Node.Report(outcome);
        }

        // The retry, decided on node A (both primaries excluded: a fallback), reported to node B.
        var retry = node.Node.Route(Request("req-1", 1, "openai-gpt4o-us", "openai-gpt41-us"), null);
        Assert.Equal(("fallback_after_error", "anthropic-sonnet-us"), (retry.RouteReason, retry.EndpointId));
        Assert.Equal("gpt-4o", retry.PrimaryModel);
        var fallbackOutcome = new Wire.Outcome
        {
            DecisionId = retry.DecisionId,
            EndpointId = retry.EndpointId,
            WorkloadClass = "customer_chat",
            Status = Wire.OutcomeStatus.Success,
            LatencyMs = 640,
            TtftMs = 70,
            InputTokens = 1_000,
            OutputTokens = 100,
            WorkflowVerdict = Wire.WorkflowVerdict.Completed,
            Quality = new Wire.Quality { Verdict = Wire.QualityVerdict.Pass },
        };
        nodeB.Report(fallbackOutcome);

        var lines = await ReadLogAsync(node);
        Assert.Equal(2, lines.Count);
        var first = lines.Single(l => l.GetProperty("decision_id").GetString() == decision.DecisionId);
        AssertFields(first, new()
        {
            ["request_id"] = "req-1",
            ["workload_class"] = "customer_chat",
            ["primary_endpoint"] = "openai-gpt4o-us",
            ["primary_model"] = "gpt-4o",
            ["routed_model"] = decision.Model,
            ["route_reason"] = "primary",
            ["fallback"] = false,
            ["provider"] = decision.Provider,
            ["endpoint"] = decision.EndpointId,
            ["region"] = decision.Region,
            ["node"] = "node-a",
            ["latency_ms"] = 812L,
            ["ttft_ms"] = 95L,
            ["input_tokens"] = 1_200L,
            ["output_tokens"] = 340L,
            ["retry_count"] = 0L,
            ["status"] = "server_error",
            ["quality_eval"] = "fail",
            ["quality_score"] = 0.42,
            ["returned_model_version"] = decision.ModelVersion,
            ["workflow_verdict"] = null,
            ["trace_id"] = traceId,
        });
        Assert.Equal(_time.GetUtcNow().UtcDateTime, first.GetProperty("timestamp").GetDateTime().ToUniversalTime());
        Assert.Equal(Cost(node, decision.EndpointId, 1_200, 340), first.GetProperty("cost_usd").GetDouble(), 12);

        var second = lines.Single(l => l.GetProperty("decision_id").GetString() == retry.DecisionId);
        AssertFields(second, new()
        {
            ["request_id"] = null,
            ["workload_class"] = "customer_chat",
            ["primary_endpoint"] = "openai-gpt4o-us",
            ["primary_model"] = "gpt-4o",
            ["routed_model"] = retry.Model,
            ["route_reason"] = "fallback_after_error",
            ["fallback"] = true,
            ["provider"] = "anthropic",
            ["endpoint"] = "anthropic-sonnet-us",
            ["region"] = retry.Region,
            ["node"] = "node-b",
            ["retry_count"] = 1L,
            ["status"] = "success",
            ["quality_eval"] = "pass",
            ["quality_score"] = null,
            ["returned_model_version"] = null,
            ["workflow_verdict"] = "completed",
            ["trace_id"] = null,
        });
        Assert.Equal(Cost(node, "anthropic-sonnet-us", 1_000, 100), second.GetProperty("cost_usd").GetDouble(), 12);
    }

    [Fact]
    public async Task A_version_2_id_still_verifies_and_logs_an_unknown_reason_while_tampered_or_refused_outcomes_are_not_logged()
    {
        await using var node = await StartAsync();
        var at = _time.GetUtcNow();
        var v2 = Version2Id(_key, 7, DecisionIds.RequestKey("req-v2"), 2, at, "anthropic-sonnet-us", "customer_chat");
        Assert.Equal(DecisionIds.Version2IdLength, v2.Length);

        var decision = node.Node.Route(Request("req-v3", 0), null);
        Assert.Equal(DecisionIds.IdLength, decision.DecisionId.Length);
        // Byte 29 (the reason code) is in the 40th character: changing it must break the MAC.
        var chars = decision.DecisionId.ToCharArray();
        chars[39] = chars[39] == 'A' ? 'B' : 'A';
        var tampered = Outcome(new string(chars), decision.EndpointId);
        Assert.Equal("decision_id", Assert.Throws<RoutingRequestException>(() => node.Node.Report(tampered)).Field);
        var otherRequest = Outcome(decision.DecisionId, decision.EndpointId);
        otherRequest.RequestId = "req-other";
        Assert.Equal("request_id", Assert.Throws<RoutingRequestException>(() => node.Node.Report(otherRequest)).Field);

        node.Node.Report(Outcome(v2, "anthropic-sonnet-us"));

        var line = Assert.Single(await ReadLogAsync(node));
        AssertFields(line, new()
        {
            ["decision_id"] = v2,
            ["route_reason"] = "unknown",
            // Without a reason in the id, the endpoint's role in the class says whether it was a fallback.
            ["fallback"] = true,
            ["retry_count"] = 2L,
            ["primary_model"] = "gpt-4o",
            ["endpoint"] = "anthropic-sonnet-us",
        });
    }

    [Fact]
    public async Task Sampling_keeps_errors_and_fallbacks_and_keeps_or_drops_all_attempts_of_a_request_together()
    {
        await using var node = await StartAsync(o =>
        {
            o.AcceptUnroutedOutcomes = true;
            o.RequestLog.SampleRate = 0.5;
        });
        for (var i = 0; i < 60; i++)
        {
            var id = "req-" + i.ToString(CultureInfo.InvariantCulture);
            for (var attempt = 0; attempt < 2; attempt++)
            {
                node.Node.Report(Unrouted(id, attempt, "openai-gpt4o-us", Wire.OutcomeStatus.Success));
            }

            node.Node.Report(Unrouted("err-" + i.ToString(CultureInfo.InvariantCulture), 0, "openai-gpt4o-us", Wire.OutcomeStatus.RateLimited));
            node.Node.Report(Unrouted("fb-" + i.ToString(CultureInfo.InvariantCulture), 0, "anthropic-sonnet-us", Wire.OutcomeStatus.Success));
        }

        var lines = await ReadLogAsync(node);
        var byRequest = lines.GroupBy(l => l.GetProperty("request_id").GetString()!).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(60, byRequest.Keys.Count(k => k.StartsWith("err-", StringComparison.Ordinal)));
        Assert.Equal(60, byRequest.Keys.Count(k => k.StartsWith("fb-", StringComparison.Ordinal)));
        var sampled = byRequest.Where(p => p.Key.StartsWith("req-", StringComparison.Ordinal)).ToList();
        Assert.All(sampled, p => Assert.Equal(2, p.Value));
        Assert.InRange(sampled.Count, 10, 50);
    }

    public void Dispose()
    {
        _storage.Dispose();
        _files.Dispose();
    }

    private Task<ServiceNode> StartAsync(Action<ControlPlaneOptions>? configure = null) => ServiceNode.StartAsync(_time, _storage, configure: o =>
    {
        o.NodeId = "node-a";
        o.AcceptUnroutedOutcomes = false;
        o.DecisionKey = Convert.ToBase64String(_key);
        o.RequestLog.Path = _files.LogPath;
        configure?.Invoke(o);
    });

    // Another routing node of the same cluster on the same silo (its own tag and counter), as a data-plane node would
    // be; it writes to the same request log (the host's writer).
    private static async Task<RoutingNode> StartSecondNodeAsync(ServiceNode host, string nodeId)
    {
        var options = host.Services.GetRequiredService<IOptions<ControlPlaneOptions>>().Value;
        var second = new ControlPlaneOptions { NodeId = nodeId, DecisionKey = options.DecisionKey };
        var node = ActivatorUtilities.CreateInstance<RoutingNode>(host.Services, Options.Create(second), host.Services.GetRequiredService<ILogger<RoutingNode>>());
        await node.StartAsync(CancellationToken.None);
        return node;
    }

    // Disposing the writer drains its queue and closes the file (as shutdown does).
    private async Task<List<JsonElement>> ReadLogAsync(ServiceNode node)
    {
        await node.Services.GetRequiredService<RequestLogWriter>().DisposeAsync();
        return RequestLogFiles.ReadLines(_files.LogPath);
    }

    private static Wire.RouteRequest Request(string requestId, int attempt, params string[] exclude)
    {
        var request = new Wire.RouteRequest { WorkloadClass = "customer_chat", EstimatedInputTokens = 100, MaxOutputTokens = 100, RequestId = requestId, Attempt = attempt };
        request.ExcludeEndpointIds.AddRange(exclude);
        return request;
    }

    private static Wire.Outcome Outcome(string decisionId, string endpointId) => new()
    {
        DecisionId = decisionId,
        EndpointId = endpointId,
        WorkloadClass = "customer_chat",
        Status = Wire.OutcomeStatus.Success,
        LatencyMs = 300,
    };

    private static Wire.Outcome Unrouted(string requestId, int attempt, string endpointId, Wire.OutcomeStatus status) => new()
    {
        EndpointId = endpointId,
        WorkloadClass = "customer_chat",
        RequestId = requestId,
        Attempt = attempt,
        Status = status,
        LatencyMs = 300,
    };

    private static double Cost(ServiceNode node, string endpointId, long input, long output)
    {
        var snapshot = node.Node.Snapshot;
        Assert.True(snapshot.TryGetEndpointIndex(endpointId, out var index));
        var endpoint = snapshot.EndpointAt(index);
        return (double)((endpoint.PricePer1kInput * input) + (endpoint.PricePer1kOutput * output)) / 1000.0;
    }

    private static void AssertFields(JsonElement line, Dictionary<string, object?> expected)
    {
        foreach (var (name, value) in expected)
        {
            Assert.True(line.TryGetProperty(name, out var actual), $"missing field {name}");
            object? read = actual.ValueKind switch
            {
                JsonValueKind.Null => null,
                JsonValueKind.String => actual.GetString(),
                JsonValueKind.True or JsonValueKind.False => actual.GetBoolean(),
                JsonValueKind.Number when value is double => actual.GetDouble(),
                JsonValueKind.Number => actual.GetInt64(),
                _ => actual.GetRawText(),
            };
            Assert.True(Equals(value, read), $"{name}: expected {value ?? "null"}, was {read ?? "null"}");
        }
    }

    // The previous release's id layout, built here independently of DecisionIds: version 2, 29 bytes, then the MAC.
    private static string Version2Id(byte[] clusterKey, long number, long requestKey, int attempt, DateTimeOffset at, string endpointId, string workloadClass)
    {
        var macKey = new byte[16];
        HKDF.DeriveKey(HashAlgorithmName.SHA256, clusterKey, macKey, salt: [], "controlplane decision-id mac v2"u8);
        var record = new byte[29];
        record[0] = 2;
        BinaryPrimitives.WriteUInt32BigEndian(record.AsSpan(1), 0xC0FFEE);
        BinaryPrimitives.WriteInt64BigEndian(record.AsSpan(5), number);
        BinaryPrimitives.WriteInt64BigEndian(record.AsSpan(13), requestKey);
        BinaryPrimitives.WriteUInt16BigEndian(record.AsSpan(21), (ushort)attempt);
        var ms = at.ToUnixTimeMilliseconds();
        for (var i = 5; i >= 0; i--)
        {
            record[23 + i] = (byte)ms;
            ms >>= 8;
        }

        byte[] message = [.. record, .. Encoding.UTF8.GetBytes(endpointId), 0, .. Encoding.UTF8.GetBytes(workloadClass)];
        var tag = new byte[16];
        SipHash128.Compute(BinaryPrimitives.ReadUInt64LittleEndian(macKey), BinaryPrimitives.ReadUInt64LittleEndian(macKey.AsSpan(8)), message, tag);
        return Base64Url.EncodeToString([.. record, .. tag]);
    }
}
