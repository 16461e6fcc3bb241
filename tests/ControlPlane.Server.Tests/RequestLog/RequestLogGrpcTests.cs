using System.Diagnostics;
using System.Text.Json;
using ControlPlane.Contracts.V1;
using ControlPlane.Server.Tests.EndToEnd;
using ControlPlane.Service;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace ControlPlane.Server.Tests.RequestLog;

/// <summary>The request log of a node as shipped: outcomes reported over gRPC ReportOutcomes land as JSON lines in
/// DATA-DIR/requests.jsonl, carrying the decision's reason and primary and the proxy's W3C trace id; a refused outcome
/// writes nothing.</summary>
public sealed class RequestLogGrpcTests : IDisposable
{
    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "cp-reqlog-grpc-" + Guid.NewGuid().ToString("N")[..12]);

    [Fact]
    public async Task Outcomes_reported_over_ReportOutcomes_are_written_to_the_default_file_with_the_callers_trace_id()
    {
        // What an OpenTelemetry tracer provider does: listen to ASP.NET Core's activity source, so each call has an
        // activity continuing the caller's traceparent.
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == "Microsoft.AspNetCore",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(listener);
        await using var node = await ControlPlaneNode.StartAsync(_dataDirectory, acceptUnroutedOutcomes: false);
        var nodeId = node.Services.GetRequiredService<IOptions<ControlPlaneOptions>>().Value.NodeId;
        var decision = await node.Routing.RouteAsync(
            new RouteRequest { WorkloadClass = "customer_chat", EstimatedInputTokens = 100, MaxOutputTokens = 100, RequestId = "grpc-req-1" },
            deadline: DateTime.UtcNow.AddSeconds(30));
        Assert.Equal("openai-gpt4o-us", decision.PrimaryEndpointId);

        const string traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
        using (var call = node.Routing.ReportOutcomes(new Metadata { { "traceparent", $"00-{traceId}-00f067aa0ba902b7-01" } }))
        {
            await call.RequestStream.WriteAsync(new Outcome
            {
                DecisionId = decision.DecisionId,
                EndpointId = decision.EndpointId,
                WorkloadClass = "customer_chat",
                RequestId = "grpc-req-1",
                Status = OutcomeStatus.Timeout,
                LatencyMs = 30_000,
                InputTokens = 100,
            });
            // Refused (another class than its decision's): not logged.
            await call.RequestStream.WriteAsync(new Outcome
            {
                DecisionId = decision.DecisionId,
                EndpointId = decision.EndpointId,
                WorkloadClass = "internal_copilot",
                Status = OutcomeStatus.Success,
            });
            await call.RequestStream.CompleteAsync();
            var ack = await call.ResponseAsync;
            Assert.Equal((1L, 1L), (ack.Accepted, ack.Rejected));
        }

        var path = Path.Combine(_dataDirectory, "requests.jsonl");
        var lines = await ReadWhenAsync(path, count: 1);
        using var document = JsonDocument.Parse(Assert.Single(lines));
        var line = document.RootElement;
        Assert.Equal(decision.DecisionId, line.GetProperty("decision_id").GetString());
        Assert.Equal("grpc-req-1", line.GetProperty("request_id").GetString());
        Assert.Equal(decision.RouteReason, line.GetProperty("route_reason").GetString());
        Assert.Equal("gpt-4o", line.GetProperty("primary_model").GetString());
        Assert.Equal(decision.Model, line.GetProperty("routed_model").GetString());
        Assert.Equal("timeout", line.GetProperty("status").GetString());
        Assert.Equal(30_000, line.GetProperty("latency_ms").GetInt64());
        Assert.Equal(nodeId, line.GetProperty("node").GetString());
        Assert.Equal(traceId, line.GetProperty("trace_id").GetString());
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }
        catch (IOException)
        {
            // Best effort.
        }
    }

    // The writer flushes when its queue runs empty: poll, generously (a busy CI machine).
    private static async Task<string[]> ReadWhenAsync(string path, int count)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var lines = File.Exists(path) ? await ReadSharedAsync(path) : [];
            if (lines.Length >= count || DateTime.UtcNow > deadline)
            {
                return lines;
            }

            await Task.Delay(50);
        }
    }

    private static async Task<string[]> ReadSharedAsync(string path)
    {
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream);
        var text = await reader.ReadToEndAsync();
        // Only complete lines.
        return text.Split('\n').SkipLast(1).ToArray();
    }
}
