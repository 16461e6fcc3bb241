using System.Net;
using ControlPlane.Contracts.V1;
using ControlPlane.Server.Tests.EndToEnd;
using ControlPlane.Server.Tests.Prometheus;
using ControlPlane.Service;
using ControlPlane.Service.Security;

namespace ControlPlane.Server.Tests.Telemetry;

/// <summary><c>GET /metrics</c>: Prometheus text on the admin listener after traffic (role viewer; 401 without a key),
/// never on the data-plane port, valid for <c>promtool check metrics</c>; gone with <c>--telemetry off</c>.</summary>
public sealed class MetricsEndpointTests
{
    [Fact]
    public async Task Metrics_on_the_admin_port_hold_the_instruments_after_traffic_and_pass_promtool()
    {
        await using var node = await ControlPlaneNode.StartInMemoryAsync();
        var decision = await node.RouteAsync("customer_chat");
        await node.Routing.ReportOutcomeAsync(new Outcome
        {
            EndpointId = decision.EndpointId, WorkloadClass = "customer_chat", Status = OutcomeStatus.Success, LatencyMs = 800, TtftMs = 120,
            InputTokens = 1_000, OutputTokens = 200, DecisionId = decision.DecisionId,
        }, deadline: DateTime.UtcNow.AddSeconds(10));
        using var viewer = await node.AdminAsAsync("metrics-reader", Roles.Viewer);

        var text = "";
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (!timeout.IsCancellationRequested)
        {
            using var response = await viewer.GetAsync("metrics");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.StartsWith("text/plain", response.Content.Headers.ContentType?.MediaType, StringComparison.Ordinal);
            text = await response.Content.ReadAsStringAsync();
            if (text.Contains("controlplane_outcomes_total{", StringComparison.Ordinal) && text.Contains("gen_ai_client_token_usage_bucket{", StringComparison.Ordinal))
            {
                break;
            }

            // The exporter caches a scrape briefly.
            await Task.Delay(200);
        }

        Assert.Contains($"controlplane_route_decisions_total{{", text, StringComparison.Ordinal);
        Assert.Matches($"controlplane_route_decisions_total\\{{[^}}]*controlplane_endpoint=\"{decision.EndpointId}\"[^}}]*controlplane_route_reason=\"{decision.RouteReason}\"", text);
        Assert.Matches("controlplane_outcomes_total\\{[^}]*controlplane_outcome_status=\"success\"", text);
        Assert.Contains("gen_ai_client_operation_duration_seconds_bucket{", text, StringComparison.Ordinal);
        Assert.Contains("controlplane_breaker_state{", text, StringComparison.Ordinal);
        // Orleans', ASP.NET Core's and the runtime's meters are exported too.
        Assert.Contains("orleans_", text, StringComparison.Ordinal);
        Assert.Contains("http_server_request_duration_seconds", text, StringComparison.Ordinal);
        Assert.Contains("dotnet_gc_", text, StringComparison.Ordinal);

        // Kept as a test artifact (the exported names are listed in docs/telemetry.md).
        await File.WriteAllTextAsync(Path.Combine(AppContext.BaseDirectory, "metrics-scrape.txt"), text);
        // Our families lint clean; the whole scrape parses (promtool 2.42 lints Orleans' and the runtime's own names
        // too, e.g. "_count" gauges and "_errors" counters: those findings are theirs, and the only ones allowed).
        await PrometheusTools.AssertParsesAndOnlyTheirsLintAsync(text, IsOurFamily);
    }

    [Fact]
    public async Task Metrics_need_a_key_and_are_not_served_on_the_data_plane_port()
    {
        await using var node = await ControlPlaneNode.StartInMemoryAsync();

        using var anonymous = new HttpClient { BaseAddress = node.AdminAddress };
        using (var response = await anonymous.GetAsync("metrics"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }

        // The data-plane port (HTTP/2, the all-roles key): not there.
        using (var response = await node.Raw.GetAsync("metrics"))
        {
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        }

        using (var response = await node.Admin.GetAsync("metrics"))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
    }

    [Fact]
    public async Task Telemetry_off_serves_no_metrics()
    {
        await using var node = await ControlPlaneNode.StartAsync(new NodeOptions { Storage = ControlPlaneStorage.Memory, Telemetry = false }, null);
        await node.AssertServingAsync();

        using var response = await node.Admin.GetAsync("metrics");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    private static bool IsOurFamily(string family) =>
        family.StartsWith("controlplane_", StringComparison.Ordinal) || family.StartsWith("gen_ai_", StringComparison.Ordinal);
}
