using System.Diagnostics;
using System.Net.Http.Json;
using ControlPlane.Contracts.V1;
using ControlPlane.Server.Tests.EndToEnd;
using ControlPlane.Service;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Trace;

namespace ControlPlane.Server.Tests.Telemetry;

/// <summary>Runs alone (after the parallel collections): an exporter hears the process-wide <c>ActivitySource</c>, so a
/// node that another test runs meanwhile (sampling at its own ratio) would add route spans this test counts.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TraceContextCollection
{
    public const string Name = "trace context";
}

/// <summary>Traces with the in-memory exporter: a sampled W3C <c>traceparent</c> from a gRPC caller becomes the
/// parent of the Route span (even with <c>--trace-sample 0</c>: the sampler is parent-based), the span carries class,
/// endpoint and reason; a call without one is not traced at ratio 0; an admin action gets its own span.</summary>
[Collection(TraceContextCollection.Name)]
public sealed class TraceContextTests
{
    [Fact]
    public async Task A_callers_traceparent_is_the_parent_of_the_route_span_and_admin_actions_are_spans()
    {
        var spans = new List<Activity>();
        await using var node = await ControlPlaneNode.StartAsync(new NodeOptions { Storage = ControlPlaneStorage.Memory, TraceSample = 0 }, null,
            configure: builder => builder.Services.ConfigureOpenTelemetryTracerProvider(t => t.AddInMemoryExporter(spans)));
        var traceId = ActivityTraceId.CreateRandom();
        var parentId = ActivitySpanId.CreateRandom();

        await node.RouteAsync("customer_chat");
        var traced = await node.Routing.RouteAsync(new RouteRequest { WorkloadClass = "customer_chat", EstimatedInputTokens = 100, MaxOutputTokens = 100 },
            new Metadata { { "traceparent", $"00-{traceId.ToHexString()}-{parentId.ToHexString()}-01" } }, DateTime.UtcNow.AddSeconds(10));

        // Matched by trace id all the same (a node of an earlier test may still be stopping).
        var route = await WaitForAsync(spans, s => s.OperationName == "controlplane.route" && s.TraceId == traceId);
        Assert.Equal(traceId, route.TraceId);
        Assert.Equal("customer_chat", route.GetTagItem("controlplane.workload_class"));
        Assert.Equal(traced.EndpointId, route.GetTagItem("controlplane.endpoint"));
        Assert.Equal(traced.RouteReason, route.GetTagItem("controlplane.route_reason"));
        // Its parent is the ASP.NET Core request span, whose parent is the caller's span.
        var request = Snapshot(spans).Single(s => s.SpanId == route.ParentSpanId);
        Assert.Equal(parentId, request.ParentSpanId);
        // The untraced call (ratio 0, no parent) left no span.
        Assert.Single(Snapshot(spans), s => s.OperationName == "controlplane.route");

        using var force = new HttpRequestMessage(HttpMethod.Post, $"admin/v1/endpoints/{traced.EndpointId}/breaker")
        {
            Content = JsonContent.Create(new { state = "open", reason = "trace test" }),
        };
        force.Headers.Add("traceparent", $"00-{traceId.ToHexString()}-{parentId.ToHexString()}-01");
        using var response = await node.Admin.SendAsync(force);
        response.EnsureSuccessStatusCode();
        var admin = await WaitForAsync(spans, s => s.OperationName == "controlplane.admin" && s.TraceId == traceId);
        Assert.Equal(traceId, admin.TraceId);
        Assert.Equal("POST /admin/v1/endpoints/{id}/breaker", admin.GetTagItem("controlplane.admin.action"));
        Assert.Equal(traced.EndpointId, admin.GetTagItem("controlplane.endpoint"));
        Assert.Equal(200, admin.GetTagItem("http.response.status_code"));
    }

    private static List<Activity> Snapshot(List<Activity> spans)
    {
        lock (spans)
        {
            return [.. spans];
        }
    }

    private static async Task<Activity> WaitForAsync(List<Activity> spans, Func<Activity, bool> match)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (true)
        {
            if (Snapshot(spans).FirstOrDefault(match) is { } found)
            {
                return found;
            }

            await Task.Delay(50, timeout.Token);
        }
    }
}
