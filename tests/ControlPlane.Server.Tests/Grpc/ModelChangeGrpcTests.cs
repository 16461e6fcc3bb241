using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using ControlPlane.Contracts.V1;
using ControlPlane.Fleet;
using ControlPlane.Server.Tests.EndToEnd;
using ControlPlane.Service.Security;
using Grpc.Core;

namespace ControlPlane.Server.Tests.Grpc;

/// <summary>A silent model change over the wire: a routed outcome's <c>returned_model_version</c> (gRPC), the catalog
/// (gRPC <c>GetCatalog</c> and HTTP <c>/admin/v1/catalog/{id}</c>), the drain it sets, and the operator's acknowledgement
/// (HTTP) that clears it; on a node as shipped (unrouted outcomes refused).</summary>
public sealed class ModelChangeGrpcTests : IAsyncLifetime
{
    private const string Fleet = """
        endpoints:
          - { id: prim, provider: openai, model: gpt, model_version: gpt-1-2025-01-01, region: us, context_window: 32000, price_per_1k: { input: 0.001, output: 0.002 }, limits: { tpm: 0, rpm: 0 }, owner_team: ai-platform, on_call: "#ai-oncall", on_model_change: drain, deprecation: { date: 2099-01-01, migrate_to: back } }
          - { id: back, provider: anthropic, model: claude, model_version: claude-1-2025-01-01, region: us, context_window: 32000, price_per_1k: { input: 0, output: 0 }, owner_team: ai-platform, on_call: "#ai-oncall" }
        classes:
          - { name: chat, owner: t, mode: auto_fallback, primary: [prim], fallbacks: [back], slo: { availability: 0.99 } }
        """;

    private ControlPlaneNode _node = null!;

    public async Task InitializeAsync() =>
        _node = await ControlPlaneNode.StartInMemoryAsync(fleet: FleetLoader.Load(new StringReader(Fleet), "model-change.yaml"), acceptUnroutedOutcomes: false);

    public async Task DisposeAsync() => await _node.DisposeAsync();

    [Fact]
    public async Task A_reported_model_change_drains_the_endpoint_until_an_operator_acknowledges_it()
    {
        var decision = await _node.RouteAsync("chat");
        Assert.Equal("prim", decision.EndpointId);

        // Bounded and printable, else INVALID_ARGUMENT naming the field, and nothing is counted.
        foreach (var bad in new[] { new string('v', 129), "gpt 2", "gpt-\u001b[2J" })
        {
            var error = await Assert.ThrowsAsync<RpcException>(async () => await _node.Routing.ReportOutcomeAsync(Outcome(decision, bad)));
            Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
            Assert.StartsWith("returned_model_version: ", error.Status.Detail, StringComparison.Ordinal);
        }

        Assert.Equal(1, (await _node.Routing.ReportOutcomeAsync(Outcome(decision, "gpt-1-2025-06-01"))).Accepted);

        // The endpoint grain raised the alert and drained itself; every node routes around it.
        var drained = await _node.RouteUntilAsync("chat", d => d.EndpointId == "back");
        Assert.Equal("back", drained.EndpointId);
        var entry = Assert.Single((await _node.AdminGrpc.GetCatalogAsync(new GetCatalogRequest { Id = "prim" })).Entries);
        Assert.Equal(("gpt-1-2025-06-01", "gpt-1-2025-01-01", false, true), (entry.ModelChange.Observed, entry.ModelChange.Pinned, entry.ModelChange.Acknowledged, entry.ModelChange.Drained));
        var alert = Assert.Single(entry.Alerts);
        Assert.Equal(("model-change", "ai-platform", "#ai-oncall"), (alert.Kind, alert.OwnerTeam, alert.OnCall));
        Assert.Equal(["chat"], entry.PrimaryOf);
        Assert.Equal(("drain", "0.001"), (entry.OnModelChange, entry.Price.InputPer1K));
        Assert.Equal(2, (await _node.AdminGrpc.GetCatalogAsync(new GetCatalogRequest())).Entries.Count);
        Assert.Equal(StatusCode.NotFound,
            (await Assert.ThrowsAsync<RpcException>(async () => await _node.AdminGrpc.GetCatalogAsync(new GetCatalogRequest { Id = "nope" }))).StatusCode);

        // The HTTP catalog has the same entry.
        var json = await _node.GetAdminJsonAsync("/admin/v1/catalog/prim");
        Assert.Equal("ai-platform", json.GetProperty("ownerTeam").GetString());
        Assert.Equal(0.002m, json.GetProperty("price").GetProperty("outputPer1k").GetDecimal());
        Assert.Equal("2099-01-01", json.GetProperty("deprecation").GetProperty("date").GetString());
        Assert.Equal(JsonValueKind.Null, json.GetProperty("deprecation").GetProperty("notice").ValueKind);
        Assert.Equal("gpt-1-2025-06-01", json.GetProperty("modelChange").GetProperty("observed").GetString());
        Assert.Equal(["chat"], (await _node.GetAdminJsonAsync("/admin/v1/catalog/back")).GetProperty("fallbackOf").EnumerateArray().Select(e => e.GetString()));

        // An operator acknowledges (HTTP): bad bodies change nothing, a good one clears the alert and the drain.
        using var operatorClient = await _node.AdminAsAsync("olga", Roles.Operator);
        foreach (var (body, field) in new[] { ("{\"reason\": 5}", "reason"), ("{\"reason\": \"ok\", \"force\": true}", "force"), ("{}", "reason") })
        {
            using var refused = await operatorClient.PostAsync("/admin/v1/endpoints/prim/model-change/ack", new StringContent(body, Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.Equal(field, (await refused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("field").GetString());
        }

        Assert.Equal("back", (await _node.RouteAsync("chat")).EndpointId);
        using var response = await operatorClient.PostAsync("/admin/v1/endpoints/prim/model-change/ack",
            new StringContent("{\"reason\": \"new snapshot passed the evals\"}", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var acked = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(acked.GetProperty("modelChange").GetProperty("acknowledged").GetBoolean());
        Assert.Equal(0, acked.GetProperty("alerts").GetArrayLength());
        Assert.Equal("prim", (await _node.RouteAsync("chat")).EndpointId);
    }

    private static Outcome Outcome(RouteDecision decision, string returnedModelVersion) => new()
    {
        DecisionId = decision.DecisionId,
        EndpointId = decision.EndpointId,
        WorkloadClass = "chat",
        RequestId = "r",
        Status = OutcomeStatus.Success,
        LatencyMs = 200,
        ReturnedModelVersion = returnedModelVersion,
    };
}
