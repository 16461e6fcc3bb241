using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using ControlPlane.Contracts.V1;
using ControlPlane.Server.Tests.Support;
using Grpc.Health.V1;
using ControlPlane.Service;
using ControlPlane.Service.Security;
using Microsoft.Extensions.DependencyInjection;
using V1 = Grpc.Reflection.V1;

namespace ControlPlane.Server.Tests.EndToEnd;

/// <summary>End to end over real sockets: Grpc.Net.Client on the Routing and Admin services, HttpClient on the admin API,
/// one single node (an Orleans silo with SQLite or memory grain storage).</summary>
public sealed class ControlPlaneEndToEndTests : IDisposable
{
    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "cp-e2e-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dataDirectory))
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }
    }

    [Fact]
    public async Task Primary_outage_reported_via_ReportOutcome_opens_breakers_customer_chat_falls_back_and_legal_draft_holds()
    {
        await using var node = await ControlPlaneNode.StartAsync(_dataDirectory);
        Assert.Equal("primary", (await node.RouteAsync("customer_chat")).RouteReason);

        foreach (var (endpoint, cls) in new[] { ("openai-gpt4o-us", "customer_chat"), ("openai-gpt41-us", "customer_chat"), ("anthropic-sonnet-eu", "legal_draft") })
        {
            for (var i = 0; i < 5; i++)
            {
                var ack = await node.Routing.ReportOutcomeAsync(new Outcome
                {
                    EndpointId = endpoint,
                    WorkloadClass = cls,
                    Status = OutcomeStatus.ServerError,
                    HttpStatus = 503,
                    LatencyMs = 90,
                });
                Assert.Equal(1, ack.Accepted);
            }
        }

        var chat = await node.RouteUntilAsync("customer_chat", d => d.RouteReason == "primary_breaker_open");
        Assert.Equal("primary_breaker_open", chat.RouteReason);
        Assert.Equal("anthropic-sonnet-us", chat.EndpointId);
        Assert.Equal("anthropic", chat.Provider);
        Assert.Equal(["google-gemini-pro-us"], chat.Fallbacks);

        // Held (the primary is out) until the request's own 300 ms deadline, then answered with the hold.
        var legal = await node.RouteUntilAsync("legal_draft", d => d.RouteReason == "queue_only_hold", deadlineMs: 300);
        Assert.Equal("queue_only_hold", legal.RouteReason);
        Assert.Equal("", legal.EndpointId);
        Assert.Empty(legal.Fallbacks);

        var endpointView = await GetJsonAsync(node, "admin/v1/endpoints/openai-gpt4o-us");
        Assert.Equal("open", endpointView.GetProperty("breaker").GetProperty("state").GetString());
        Assert.Equal("consecutive_failures", endpointView.GetProperty("breaker").GetProperty("reason").GetString());
    }

    [Fact]
    public async Task Admin_force_open_stops_Route_choosing_the_endpoint_on_the_same_node_and_is_audited()
    {
        await using var node = await ControlPlaneNode.StartAsync(_dataDirectory);

        foreach (var id in new[] { "openai-gpt4o-us", "openai-gpt41-us" })
        {
            using var response = await PostAsync(node, $"admin/v1/endpoints/{id}/breaker", """{"state":"open","reason":"INC-42 provider outage","ttlSeconds":3600}""", "alice@acme");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        // The grain pushes to this node before the admin call answers: no waiting. A burst onto fallbacks the node held
        // only idle lease slices of is never refused no_capacity: a call no slice can pay waits for a top-up
        // (docs/quota-ledger-persistence.md, "Top-ups").
        for (var i = 0; i < 20; i++)
        {
            var decision = await node.RouteAsync("customer_chat");
            Assert.Equal("forced_override", decision.RouteReason);
            Assert.DoesNotContain(decision.EndpointId, new[] { "openai-gpt4o-us", "openai-gpt41-us" });
            Assert.DoesNotContain("openai-gpt4o-us", decision.Fallbacks);
        }

        Assert.Equal("forced_override", (await node.RouteUntilAsync("customer_chat", d => d.RouteReason == "forced_override")).RouteReason);
        var audit = await node.GetChangesAuditAsync();
        var newest = audit.EnumerateArray().First();
        Assert.Equal("alice@acme", newest.GetProperty("actor").GetProperty("principal").GetString());
        Assert.Equal("INC-42 provider outage", newest.GetProperty("reason").GetString());
        Assert.Equal("breaker.force_open", newest.GetProperty("action").GetString());
        Assert.Equal("openai-gpt41-us", newest.GetProperty("target").GetString());
        Assert.Equal(2, audit.GetArrayLength());

        using var auto = await PostAsync(node, "admin/v1/endpoints/openai-gpt41-us/breaker", """{"state":"auto","reason":"resolved"}""", "alice@acme");
        Assert.Equal(HttpStatusCode.OK, auto.StatusCode);
        Assert.Equal("openai-gpt41-us", (await node.RouteAsync("customer_chat")).EndpointId);
    }

    [Fact]
    public async Task A_forced_override_survives_a_restart_of_the_node()
    {
        await using (var first = await ControlPlaneNode.StartAsync(_dataDirectory))
        {
            using var response = await PostAsync(first, "admin/v1/endpoints/anthropic-sonnet-eu/drain", """{"reason":"EU capacity move"}""", "bob");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("queue_only_hold", (await first.RouteAsync("legal_draft", deadlineMs: 300)).RouteReason);
        }

        await using var second = await ControlPlaneNode.StartAsync(_dataDirectory);
        var view = await GetJsonAsync(second, "admin/v1/endpoints/anthropic-sonnet-eu");
        var over = view.GetProperty("override");
        Assert.Equal("drain", over.GetProperty("kind").GetString());
        Assert.Equal("bob", over.GetProperty("actor").GetString());
        Assert.Equal("EU capacity move", over.GetProperty("reason").GetString());
        Assert.Equal("queue_only_hold", (await second.RouteAsync("legal_draft", deadlineMs: 300)).RouteReason);
        Assert.Equal("endpoint.drain", (await second.GetChangesAuditAsync()).EnumerateArray().Single().GetProperty("action").GetString());

        using var undrain = await PostAsync(second, "admin/v1/endpoints/anthropic-sonnet-eu/undrain", """{"reason":"move done"}""", "bob");
        Assert.Equal(HttpStatusCode.OK, undrain.StatusCode);
        Assert.Equal("anthropic-sonnet-eu", (await second.RouteAsync("legal_draft")).EndpointId);
    }

    [Fact]
    public async Task Route_is_UNAVAILABLE_while_the_routing_table_is_not_synchronized_and_health_says_so()
    {
        await using var node = await ControlPlaneNode.StartAsync(_dataDirectory);
        var check = new HealthCheckRequest { Service = "controlplane.v1.Routing" };
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, (await node.Health.CheckAsync(check)).Status);
        Assert.Equal("primary", (await node.RouteAsync("customer_chat")).RouteReason);

        // The first step of a node's stop: from here its table no longer follows the grains.
        await node.Services.GetRequiredService<ControlPlane.Service.DataPlane.RoutingNode>().StopAsync(CancellationToken.None);

        var error = await Assert.ThrowsAsync<RpcException>(() => node.RouteAsync("customer_chat"));
        Assert.Equal(StatusCode.Unavailable, error.StatusCode);
        Assert.Contains("not synchronized", error.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.NotServing, (await node.Health.CheckAsync(check)).Status);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.NotServing, (await node.Health.CheckAsync(new HealthCheckRequest())).Status);
    }

    [Fact]
    public async Task Bad_data_plane_input_gets_NOT_FOUND_or_INVALID_ARGUMENT_naming_the_field()
    {
        await using var node = await ControlPlaneNode.StartAsync(_dataDirectory);

        var unknown = await Assert.ThrowsAsync<RpcException>(() => node.RouteAsync("poetry"));
        Assert.Equal(StatusCode.NotFound, unknown.StatusCode);
        Assert.Contains("workload_class", unknown.Status.Detail, StringComparison.Ordinal);

        var negative = await Assert.ThrowsAsync<RpcException>(() => node.RouteAsync("customer_chat", input: -10));
        Assert.Equal(StatusCode.InvalidArgument, negative.StatusCode);
        Assert.StartsWith("estimated_input_tokens:", negative.Status.Detail, StringComparison.Ordinal);

        var badOutcome = await Assert.ThrowsAsync<RpcException>(async () => await node.Routing.ReportOutcomeAsync(
            new Outcome { EndpointId = "openai-gpt5-us", WorkloadClass = "customer_chat", Status = OutcomeStatus.Success }));
        Assert.Equal(StatusCode.InvalidArgument, badOutcome.StatusCode);
        Assert.StartsWith("endpoint_id: unknown endpoint 'openai-gpt5-us'", badOutcome.Status.Detail, StringComparison.Ordinal);

        var negativeOutcome = await Assert.ThrowsAsync<RpcException>(async () => await node.Routing.ReportOutcomeAsync(
            new Outcome { EndpointId = "openai-gpt4o-us", WorkloadClass = "customer_chat", Status = OutcomeStatus.Success, InputTokens = -1 }));
        Assert.StartsWith("input_tokens:", negativeOutcome.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Streamed_outcomes_are_acknowledged_with_per_item_errors()
    {
        await using var node = await ControlPlaneNode.StartAsync(_dataDirectory);
        using var call = node.Routing.ReportOutcomes();
        await call.RequestStream.WriteAsync(new Outcome { EndpointId = "openai-gpt4o-us", WorkloadClass = "customer_chat", Status = OutcomeStatus.Success, LatencyMs = 300 });
        await call.RequestStream.WriteAsync(new Outcome { EndpointId = "nope", WorkloadClass = "customer_chat", Status = OutcomeStatus.Success });
        await call.RequestStream.WriteAsync(new Outcome { EndpointId = "openai-gpt41-us", WorkloadClass = "customer_chat", Status = OutcomeStatus.Timeout, LatencyMs = 30_000 });
        await call.RequestStream.CompleteAsync();

        var ack = await call.ResponseAsync;

        Assert.Equal(2, ack.Accepted);
        Assert.Equal(1, ack.Rejected);
        Assert.StartsWith("outcomes[1].endpoint_id: unknown endpoint 'nope'", Assert.Single(ack.Errors), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bad_admin_input_gets_problem_json_naming_the_field_and_unknown_ids_404()
    {
        await using var node = await ControlPlaneNode.StartAsync(_dataDirectory);

        await AssertProblemAsync(await PostAsync(node, "admin/v1/endpoints/openai-gpt4o-us/breaker", """{"state":"open", """, "alice"), HttpStatusCode.BadRequest, "body");
        await AssertProblemAsync(await PostAsync(node, "admin/v1/endpoints/openai-gpt4o-us/breaker", """{"state":"half","reason":"x"}""", "alice"), HttpStatusCode.BadRequest, "state");
        await AssertProblemAsync(await PostAsync(node, "admin/v1/endpoints/openai-gpt4o-us/breaker", """{"state":"open","reason":"x","ttlSeconds":-1}""", "alice"), HttpStatusCode.BadRequest, "ttlSeconds");
        await AssertProblemAsync(await PostAsync(node, "admin/v1/endpoints/openai-gpt4o-us/breaker", """{"state":"open"}""", "alice"), HttpStatusCode.BadRequest, "reason");
        await AssertProblemAsync(await PostAsync(node, "admin/v1/endpoints/openai-gpt4o-us/breaker", """{"state":"open","reason":"x"}""", null), HttpStatusCode.Unauthorized, "authorization");
        await AssertProblemAsync(await PostAsync(node, "admin/v1/endpoints/openai-gpt4o-us/drain", """{"reason":"x","color":"red"}""", "alice"), HttpStatusCode.BadRequest, "color");
        await AssertProblemAsync(await PostAsync(node, "admin/v1/endpoints/nope/breaker", """{"state":"open","reason":"x"}""", "alice"), HttpStatusCode.NotFound, "id");
        await AssertProblemAsync(await node.Admin.GetAsync("admin/v1/endpoints/nope"), HttpStatusCode.NotFound, "id");
        await AssertProblemAsync(await node.Admin.GetAsync("admin/v1/classes/nope"), HttpStatusCode.NotFound, "name");

        Assert.Empty((await node.GetChangesAuditAsync()).EnumerateArray());
        Assert.Equal(JsonValueKind.Null, (await GetJsonAsync(node, "admin/v1/endpoints/openai-gpt4o-us")).GetProperty("override").ValueKind);
    }

    [Fact]
    public async Task WatchRoutingTable_streams_a_new_table_after_a_forced_breaker()
    {
        await using var node = await ControlPlaneNode.StartAsync(_dataDirectory);
        using var watch = node.Routing.WatchRoutingTable(new WatchRoutingTableRequest { WorkloadClasses = { "customer_chat" } });
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));

        Assert.True(await watch.ResponseStream.MoveNext(timeout.Token));
        var first = watch.ResponseStream.Current;
        Assert.Equal("closed", first.Endpoints.Single(e => e.EndpointId == "openai-gpt4o-us").BreakerState);
        Assert.Equal("customer_chat", Assert.Single(first.Classes).WorkloadClass);

        using var response = await PostAsync(node, "admin/v1/endpoints/openai-gpt4o-us/breaker", """{"state":"open","reason":"watch test"}""", "carol");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        RoutingTable next;
        do
        {
            Assert.True(await watch.ResponseStream.MoveNext(timeout.Token));
            next = watch.ResponseStream.Current;
        }
        while (next.Endpoints.Single(e => e.EndpointId == "openai-gpt4o-us").BreakerState != "open");

        Assert.True(next.Version > first.Version);
        Assert.Equal("force_open", next.Endpoints.Single(e => e.EndpointId == "openai-gpt4o-us").BreakerReason);
    }

    [Fact]
    public async Task Reflection_lists_the_Routing_service_and_the_admin_API_has_an_OpenAPI_document()
    {
        await using var node = await ControlPlaneNode.StartAsync(_dataDirectory);
        var reflection = await node.Raw.CallAsync("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
            GrpcWire.Frame(new V1.ServerReflectionRequest { ListServices = "" }));
        Assert.Contains("controlplane.v1.Admin", reflection.Single(V1.ServerReflectionResponse.Parser).ListServicesResponse.Service.Select(s => s.Name));
        Assert.Contains("controlplane.v1.Routing", reflection.Single(V1.ServerReflectionResponse.Parser).ListServicesResponse.Service.Select(s => s.Name));

        var openApi = await GetJsonAsync(node, "openapi/v1.json");
        var paths = openApi.GetProperty("paths");
        Assert.True(paths.TryGetProperty("/admin/v1/endpoints/{id}/breaker", out _));
        Assert.True(paths.TryGetProperty("/admin/v1/fleet", out _));
        Assert.True(paths.TryGetProperty("/admin/v1/audit", out _));

        // The gRPC port does not serve the admin API.
        using var onGrpcPort = await node.Raw.GetAsync("admin/v1/fleet");
        Assert.Equal(HttpStatusCode.NotFound, onGrpcPort.StatusCode);
    }

    [Fact]
    public async Task Admin_gRPC_service_forces_a_breaker_audits_it_and_names_bad_fields()
    {
        await using var node = await ControlPlaneNode.StartAsync(_dataDirectory);
        var admin = node.AdminGrpc;
        var asDave = await node.GrpcAsAsync("dave");

        var view = await admin.SetBreakerAsync(new SetBreakerRequest { Id = "openai-gpt4o-us", State = "open", Reason = "grpc admin", TtlSeconds = 120 }, asDave);
        Assert.Equal(("open", "force_open", "dave"), (view.Breaker.State, view.Override.Kind, view.Override.Actor));
        await admin.SetBreakerAsync(new SetBreakerRequest { Id = "openai-gpt41-us", State = "open", Reason = "grpc admin" }, asDave);
        Assert.Equal("forced_override", (await node.RouteAsync("customer_chat")).RouteReason);

        var audit = (await admin.ListAuditAsync(new ListAuditRequest { Limit = 10 })).Entries.Where(e => !e.Action.StartsWith("key.", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, audit.Count);
        Assert.All(audit, e => Assert.Equal(("dave", "grpc admin"), (e.Actor, e.Reason)));

        using (var anonymousChannel = global::Grpc.Net.Client.GrpcChannel.ForAddress(node.AdminAddress))
        {
            var noActor = await Assert.ThrowsAsync<RpcException>(async () =>
                await new Admin.AdminClient(anonymousChannel).SetBreakerAsync(new SetBreakerRequest { Id = "openai-gpt4o-us", State = "auto", Reason = "x" }));
            Assert.Equal(StatusCode.Unauthenticated, noActor.StatusCode);
        }

        var badTtl = await Assert.ThrowsAsync<RpcException>(async () => await admin.SetBreakerAsync(new SetBreakerRequest { Id = "openai-gpt4o-us", State = "open", Reason = "x", TtlSeconds = -5 }, asDave));
        Assert.StartsWith("ttlSeconds:", badTtl.Status.Detail, StringComparison.Ordinal);
        var unknown = await Assert.ThrowsAsync<RpcException>(async () => await admin.GetEndpointAsync(new GetEndpointRequest { Id = "nope" }));
        Assert.Equal(StatusCode.NotFound, unknown.StatusCode);

        var fleet = await admin.GetFleetAsync(new GetFleetRequest());
        Assert.Equal(8, fleet.Endpoints.Count);
        Assert.Equal("force_open", fleet.Endpoints.Single(e => e.Id == "openai-gpt41-us").Override.Kind);
    }

    [Fact]
    public async Task Admin_policy_change_is_validated_pushed_persisted_across_a_restart_and_audited()
    {
        await using (var node = await ControlPlaneNode.StartAsync(_dataDirectory))
        {
            // queue_only with approved fallbacks left in place is contradictory: refused when proposed, naming the field.
            using (var erin = await node.AdminAsAsync("erin", Roles.PolicyAuthor))
            {
                await AssertProblemAsync(await erin.PostAsync("admin/v1/classes/customer_chat/proposals", PolicyFlow.Json("""{"mode":"queue_only","reason":"legal review"}""")),
                    HttpStatusCode.BadRequest, "fallbacks");
            }

            var applied = await PolicyFlow.ChangeAsync(node, "customer_chat", """{"mode":"queue_only","fallbacks":[],"reason":"legal review"}""", "erin", "frank");
            Assert.Equal(2, applied.GetProperty("appliedVersion").GetInt64());
            var view = await GetJsonAsync(node, "admin/v1/classes/customer_chat");
            Assert.Equal("queue_only", view.GetProperty("mode").GetString());
            Assert.Empty(view.GetProperty("fallbacks").EnumerateArray());
            Assert.Equal(["openai-gpt4o-us", "openai-gpt41-us"], view.GetProperty("primary").EnumerateArray().Select(e => e.GetString()));

            foreach (var id in new[] { "openai-gpt4o-us", "openai-gpt41-us" })
            {
                using var forced = await PostAsync(node, $"admin/v1/endpoints/{id}/breaker", """{"state":"open","reason":"outage"}""", "erin");
                Assert.Equal(HttpStatusCode.OK, forced.StatusCode);
            }

            // The node rebuilt its snapshot from the pushed policy before the approval answered.
            Assert.Equal("queue_only_hold", (await node.RouteAsync("customer_chat", deadlineMs: 300)).RouteReason);
        }

        await using var restarted = await ControlPlaneNode.StartAsync(_dataDirectory);
        Assert.Equal("queue_only_hold", (await restarted.RouteAsync("customer_chat", deadlineMs: 300)).RouteReason);
        var cls = await GetJsonAsync(restarted, "admin/v1/classes/customer_chat");
        Assert.Equal(("queue_only", 2), (cls.GetProperty("mode").GetString(), cls.GetProperty("policyVersion").GetInt32()));
        Assert.Equal("erin", cls.GetProperty("policyChangedBy").GetString());
        var entry = (await restarted.GetChangesAuditAsync()).EnumerateArray().Single(e => e.GetProperty("action").GetString() == "class.policy");
        Assert.Equal(("customer_chat", "legal review", "frank"), (entry.GetProperty("target").GetString(), entry.GetProperty("reason").GetString(),
            entry.GetProperty("actor").GetProperty("principal").GetString()));
        Assert.StartsWith("mode auto_fallback, primary [openai-gpt4o-us, openai-gpt41-us], fallbacks [anthropic-sonnet-us, google-gemini-pro-us]",
            entry.GetProperty("before").GetString(), StringComparison.Ordinal);

        // Back to automatic fallback with a new order (scores needed again: queue_only had no fallbacks).
        await PolicyFlow.ChangeAsync(restarted, "customer_chat",
            """{"mode":"auto_fallback","fallbacks":[{"endpointId":"google-gemini-pro-us","evalScore":0.91},{"endpointId":"anthropic-sonnet-us","evalScore":0.94}],"reason":"review done"}""", "erin", "frank");
        var decision = await restarted.RouteAsync("customer_chat");
        Assert.Equal(("forced_override", "google-gemini-pro-us"), (decision.RouteReason, decision.EndpointId));
        Assert.Equal(["anthropic-sonnet-us"], decision.Fallbacks);

        // Reordering by id alone keeps each approved endpoint's eval score.
        await PolicyFlow.ChangeAsync(restarted, "customer_chat", """{"fallbacks":["anthropic-sonnet-us","google-gemini-pro-us"],"reason":"prefer anthropic"}""", "erin", "frank");
        Assert.Equal("anthropic-sonnet-us", (await restarted.RouteAsync("customer_chat")).EndpointId);
        var scores = (await GetJsonAsync(restarted, "admin/v1/classes/customer_chat")).GetProperty("fallbacks").EnumerateArray()
            .Select(f => (f.GetProperty("endpointId").GetString(), f.GetProperty("evalScore").GetDouble())).ToList();
        Assert.Equal([("anthropic-sonnet-us", 0.94), ("google-gemini-pro-us", 0.91)], scores);
        var history = (await GetJsonAsync(restarted, "admin/v1/classes/customer_chat/policy/history")).EnumerateArray().ToList();
        Assert.Equal([1, 2, 3, 4], history.Select(h => h.GetProperty("version").GetInt32()));
        Assert.Equal(["frank"], history[3].GetProperty("approvedBy").EnumerateArray().Select(a => a.GetString()));
    }

    [Fact]
    public async Task Bad_policy_proposals_get_problem_json_naming_the_field_and_change_nothing()
    {
        await using var node = await ControlPlaneNode.StartAsync(_dataDirectory);
        const string path = "admin/v1/classes/customer_chat/proposals";
        using var alice = await node.AdminAsAsync("alice", Roles.PolicyAuthor);
        Task<HttpResponseMessage> Propose(string at, string json) => alice.PostAsync(at, PolicyFlow.Json(json));

        await AssertProblemAsync(await Propose("admin/v1/classes/nope/proposals", """{"mode":"fail","reason":"x"}"""), HttpStatusCode.NotFound, "name");
        await AssertProblemAsync(await Propose(path, """{"mode":"sideways","reason":"x"}"""), HttpStatusCode.BadRequest, "mode");
        await AssertProblemAsync(await Propose(path, """{"primary":["openai-gpt4o-us","nope"],"reason":"x"}"""), HttpStatusCode.BadRequest, "primary[1]");
        await AssertProblemAsync(await Propose(path, """{"primary":[],"reason":"x"}"""), HttpStatusCode.BadRequest, "primary");
        await AssertProblemAsync(await Propose(path, """{"primary":"openai-gpt4o-us","reason":"x"}"""), HttpStatusCode.BadRequest, "primary");
        await AssertProblemAsync(await Propose(path, """{"primary":[7],"reason":"x"}"""), HttpStatusCode.BadRequest, "primary[0]");
        // A new fallback without an eval score could never pass the class's quality gate (0.9).
        await AssertProblemAsync(await Propose(path, """{"fallbacks":["google-gemini-flash-eu"],"reason":"x"}"""), HttpStatusCode.BadRequest, "fallbacks[0].evalScore");
        await AssertProblemAsync(await Propose(path, """{"fallbacks":[{"endpointId":"google-gemini-pro-us","evalScore":1.5}],"reason":"x"}"""), HttpStatusCode.BadRequest, "fallbacks[0].evalScore");
        await AssertProblemAsync(await Propose(path, """{"fallbacks":[{"endpoint":"google-gemini-pro-us"}],"reason":"x"}"""), HttpStatusCode.BadRequest, "fallbacks[0].endpoint");
        // Prohibited and approved at once.
        await AssertProblemAsync(await Propose(path, """{"prohibited":["anthropic-sonnet-us"],"reason":"x"}"""), HttpStatusCode.BadRequest, "fallbacks[0].endpointId");
        await AssertProblemAsync(await Propose(path, """{"mode":"fail"}"""), HttpStatusCode.BadRequest, "reason");
        await AssertProblemAsync(await PostAsync(node, path, """{"mode":"fail","reason":"x"}""", null), HttpStatusCode.Unauthorized, "authorization");
        await AssertProblemAsync(await Propose(path, """{"mode":"fail","fallbacks":[],"reason":"x","evalRef":7}"""), HttpStatusCode.BadRequest, "evalRef");
        await AssertProblemAsync(await Propose(path, """{"mode":"fail","fallbacks":[],"reason":"x","approvedBy":"me"}"""), HttpStatusCode.BadRequest, "approvedBy");
        await AssertProblemAsync(await Propose(path, """[1,2]"""), HttpStatusCode.BadRequest, "body");
        await AssertProblemAsync(await alice.GetAsync("admin/v1/proposals?state=open"), HttpStatusCode.BadRequest, "state");
        await AssertProblemAsync(await alice.GetAsync("admin/v1/proposals/customer_chat~nope"), HttpStatusCode.NotFound, "id");

        // The direct single-person path is gone.
        using (var direct = await alice.PostAsync("admin/v1/classes/customer_chat/policy", PolicyFlow.Json("""{"mode":"fail","fallbacks":[],"reason":"x"}""")))
        {
            Assert.True(direct.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.MethodNotAllowed, $"{(int)direct.StatusCode}");
        }

        Assert.Empty((await node.GetChangesAuditAsync()).EnumerateArray());
        Assert.Empty((await GetJsonAsync(node, "admin/v1/proposals")).EnumerateArray());
        var cls = await GetJsonAsync(node, "admin/v1/classes/customer_chat");
        Assert.Equal("auto_fallback", cls.GetProperty("mode").GetString());
        Assert.Equal(JsonValueKind.Null, cls.GetProperty("policyChangedBy").ValueKind);
        Assert.Equal("primary", (await node.RouteAsync("customer_chat")).RouteReason);
    }

    [Fact]
    public async Task Over_HTTP_the_proposer_cannot_approve_legal_draft_needs_compliance_and_break_glass_applies_at_once()
    {
        await using var node = await ControlPlaneNode.StartAsync(_dataDirectory);
        // The intern's story: a policy-author alone cannot move legal_draft off its EU primary.
        var proposal = await PolicyFlow.ProposeAsync(node, "legal_draft",
            """{"mode":"auto_fallback","fallbacks":[{"endpointId":"openai-gpt41-us","evalScore":0.9}],"prohibited":[],"reason":"faster drafts"}""", "intern");
        var id = Uri.EscapeDataString(proposal.GetProperty("id").GetString()!);
        Assert.Equal(["policy-approver", "compliance-approver"], proposal.GetProperty("requires").EnumerateArray().Select(r => r.GetString()));
        using (var intern = await node.AdminAsAsync("intern", Roles.PolicyAuthor, Roles.PolicyApprover))
        {
            await AssertProblemAsync(await intern.PostAsync($"admin/v1/proposals/{id}/approve", PolicyFlow.Json("{}")), HttpStatusCode.Forbidden, "approver");
        }

        using (var bob = await node.AdminAsAsync("bob", Roles.PolicyApprover))
        using (var approved = await bob.PostAsync($"admin/v1/proposals/{id}/approve", PolicyFlow.Json("""{"reason":"eval is fine"}""")))
        {
            Assert.Equal(HttpStatusCode.OK, approved.StatusCode);
            Assert.Equal("pending", (await approved.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("state").GetString());
        }

        // Not applied before the compliance approval: legal drafts stay on the EU model.
        Assert.Equal("anthropic-sonnet-eu", (await node.RouteAsync("legal_draft")).EndpointId);
        using (var carol = await node.AdminAsAsync("carol", Roles.ComplianceApprover))
        using (var rejected = await carol.PostAsync($"admin/v1/proposals/{id}/reject", PolicyFlow.Json("""{"reason":"US processing breaks the contract"}""")))
        {
            Assert.Equal(HttpStatusCode.OK, rejected.StatusCode);
        }

        Assert.Equal("rejected", (await GetJsonAsync(node, $"admin/v1/proposals/{id}")).GetProperty("state").GetString());
        Assert.Equal("queue_only", (await GetJsonAsync(node, "admin/v1/classes/legal_draft")).GetProperty("mode").GetString());

        // Break-glass: with customer_chat's primaries out it falls back; an operator forces it to fail at once instead; it
        // shows in the class view and the review list.
        using var olga = await node.AdminAsAsync("olga", Roles.Operator);
        foreach (var endpoint in new[] { "openai-gpt4o-us", "openai-gpt41-us" })
        {
            using var forced = await olga.PostAsync($"admin/v1/endpoints/{endpoint}/breaker", PolicyFlow.Json("""{"state":"open","reason":"outage"}"""));
            Assert.Equal(HttpStatusCode.OK, forced.StatusCode);
        }

        Assert.Equal("anthropic-sonnet-us", (await node.RouteAsync("customer_chat")).EndpointId);
        using (var glass = await olga.PostAsync("admin/v1/classes/customer_chat/break-glass", PolicyFlow.Json("""{"mode":"fail","reason":"fallbacks leak PII","ttlSeconds":3600}""")))
        {
            Assert.Equal(HttpStatusCode.OK, glass.StatusCode);
        }

        var failed = await node.RouteAsync("customer_chat");
        Assert.Equal(("no_capacity", ""), (failed.RouteReason, failed.EndpointId));
        var cls = await GetJsonAsync(node, "admin/v1/classes/customer_chat");
        Assert.Equal(("fail", "customer_chat~bg1"), (cls.GetProperty("mode").GetString(), cls.GetProperty("breakGlass").GetProperty("id").GetString()));
        var listed = Assert.Single((await GetJsonAsync(node, "admin/v1/break-glass?reviewed=false")).EnumerateArray());
        Assert.Equal(("olga", true), (listed.GetProperty("setBy").GetString(), listed.GetProperty("active").GetBoolean()));
        using (var cleared = await olga.PostAsync("admin/v1/classes/customer_chat/break-glass/clear", PolicyFlow.Json("""{"reason":"fixed"}""")))
        {
            Assert.Equal(HttpStatusCode.OK, cleared.StatusCode);
        }

        Assert.Equal("anthropic-sonnet-us", (await node.RouteAsync("customer_chat")).EndpointId);
    }

    [Fact]
    public async Task Admin_gRPC_ProposePolicy_and_ApproveProposal_change_the_policy_and_name_bad_fields()
    {
        await using var node = await ControlPlaneNode.StartAsync(_dataDirectory);
        var asDave = await node.GrpcAsAsync("dave", Roles.PolicyAuthor, Roles.PolicyApprover, Roles.Viewer);

        var request = new PolicyProposeRequest { Name = "internal_copilot", Reason = "cost review", Mode = "fail", EvalRef = "eval-12" };
        var proposal = await node.AdminGrpc.ProposePolicyAsync(new PolicyProposeRequest(request) { Fallbacks = new FallbackList() }, asDave);
        Assert.Equal(("pending", "fail", "eval-12"), (proposal.State, proposal.Mode, proposal.EvalRef));
        Assert.Empty(proposal.Fallbacks);
        var own = await Assert.ThrowsAsync<RpcException>(async () => await node.AdminGrpc.ApproveProposalAsync(new ProposalDecisionRequest { Id = proposal.Id }, asDave));
        Assert.Equal(StatusCode.PermissionDenied, own.StatusCode);
        var approved = await node.AdminGrpc.ApproveProposalAsync(new ProposalDecisionRequest { Id = proposal.Id }, await node.GrpcAsAsync("erin", Roles.PolicyApprover));
        Assert.Equal(("applied", 2L), (approved.State, approved.AppliedVersion));
        Assert.Equal("fail", (await node.AdminGrpc.GetClassAsync(new GetClassRequest { Name = "internal_copilot" })).Mode);
        Assert.Single((await node.AdminGrpc.ListProposalsAsync(new ProposalListRequest { State = "applied" }, asDave)).Proposals);

        var bad = await Assert.ThrowsAsync<RpcException>(async () => await node.AdminGrpc.ProposePolicyAsync(
            new PolicyProposeRequest { Name = "internal_copilot", Reason = "x", Primary = new EndpointIdList { Ids = { "nope" } } }, asDave));
        Assert.Equal(StatusCode.InvalidArgument, bad.StatusCode);
        Assert.StartsWith("primary[0]: unknown endpoint 'nope'", bad.Status.Detail, StringComparison.Ordinal);
        var missing = await Assert.ThrowsAsync<RpcException>(async () => await node.AdminGrpc.ProposePolicyAsync(new PolicyProposeRequest { Name = "nope", Reason = "x" }, asDave));
        Assert.Equal(StatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task A_memory_node_routes_applies_overrides_and_starts_empty_after_a_restart()
    {
        await using (var first = await ControlPlaneNode.StartInMemoryAsync())
        {
            Assert.Equal("primary", (await first.RouteAsync("customer_chat")).RouteReason);
            using var response = await PostAsync(first, "admin/v1/endpoints/anthropic-sonnet-eu/drain", """{"reason":"memory drill"}""", "bob");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("queue_only_hold", (await first.RouteAsync("legal_draft", deadlineMs: 300)).RouteReason);
            await AssertProblemAsync(await PostAsync(first, "admin/v1/endpoints/anthropic-sonnet-eu/drain", """{"reason":""", "bob"), HttpStatusCode.BadRequest, "body");
            await AssertProblemAsync(await first.Admin.GetAsync("admin/v1/endpoints/nope"), HttpStatusCode.NotFound, "id");
        }

        // Memory state does not outlive the process: nothing on disk, no override, no audit.
        Assert.False(Directory.Exists(_dataDirectory));
        await using var second = await ControlPlaneNode.StartInMemoryAsync();
        Assert.Equal(JsonValueKind.Null, (await GetJsonAsync(second, "admin/v1/endpoints/anthropic-sonnet-eu")).GetProperty("override").ValueKind);
        Assert.Empty((await second.GetChangesAuditAsync()).EnumerateArray());
        Assert.Equal("anthropic-sonnet-eu", (await second.RouteAsync("legal_draft")).EndpointId);
    }

    [Fact]
    public async Task The_SQLite_file_is_created_in_the_data_directory()
    {
        await using var node = await ControlPlaneNode.StartAsync(_dataDirectory);
        using var response = await PostAsync(node, "admin/v1/endpoints/openai-gpt4o-us/breaker", """{"state":"open","reason":"persist"}""", "ops");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        Assert.True(File.Exists(Path.Combine(_dataDirectory, ControlPlaneServiceCollectionExtensions.SqliteFileName)));
    }

    private static Task<HttpResponseMessage> PostAsync(ControlPlaneNode node, string path, string json, string? actor) =>
        node.PostAdminAsync(path, json, actor);

    private static Task<JsonElement> GetJsonAsync(ControlPlaneNode node, string path) => node.GetAdminJsonAsync(path);

    private static async Task AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status, string field)
    {
        using (response)
        {
            Assert.Equal(status, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal(field, problem.GetProperty("field").GetString());
            Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _));
            Assert.Equal((int)status, problem.GetProperty("status").GetInt32());
        }
    }
}
