using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ControlPlane.Contracts.V1;
using ControlPlane.Server.Cluster.Tests.Support;
using ControlPlane.Testing.Redis;
using Xunit.Abstractions;

namespace ControlPlane.Server.Cluster.Tests.EndToEnd;

/// <summary>Three cluster members (each a full node as <c>controlplane --redis</c> builds it: Kestrel, an Orleans silo
/// on Redis clustering and Redis grain storage) in this process on one real <c>redis-server</c>: admin changes
/// through any node reach every node, quotas are shared, state survives a full restart, grains spread.</summary>
[Collection(ClusterCollection.Name)]
public sealed class ClusterEndToEndTests(RedisServerFixture redis, ITestOutputHelper output)
{
    private const string Primary1 = "openai-gpt4o-us";
    private const string Primary2 = "openai-gpt41-us";
    private const string Fallback = "anthropic-sonnet-us";

    private static readonly string[] Primaries = [Primary1, Primary2];

    [Fact]
    public async Task A_forced_breaker_set_through_node_1_reaches_every_node_and_auto_through_node_3_restores_it()
    {
        await using var cluster = await StartAsync();
        foreach (var node in cluster.Nodes)
        {
            Assert.Contains((await node.RouteAsync("customer_chat")).EndpointId, Primaries);
        }

        var clock = Stopwatch.StartNew();
        foreach (var id in Primaries)
        {
            using var response = await cluster[0].PostAdminAsync($"admin/v1/endpoints/{id}/breaker", """{"state":"open","reason":"INC-7 provider outage","ttlSeconds":3600}""", "alice");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        var answered = clock.Elapsed;
        var reached = await EveryNodeAsync(cluster, clock, "customer_chat", d => d.RouteReason == "forced_override" && d.EndpointId == Fallback, d =>
        {
            Assert.Equal(Fallback, d.EndpointId);
        });
        output.WriteLine($"force open: admin answered after {Ms(answered)}; Route on n1, n2, n3 forced_override after {string.Join(", ", reached.Select(Ms))}");

        foreach (var node in cluster.Nodes)
        {
            // Never a forced-open primary. A node that held only an idle slice of the fallback's quota spills a burst to
            // the next fallback (or no_capacity) for one lease renewal round, measured at about 5 ms here: the last
            // decisions are on the first fallback again (known limit, docs/quota-ledger-persistence.md).
            var decisions = new List<RouteDecision>();
            for (var i = 0; i < 20; i++)
            {
                decisions.Add(await node.RouteAsync("customer_chat"));
            }

            foreach (var decision in decisions)
            {
                Assert.DoesNotContain(decision.EndpointId, Primaries);
                Assert.Contains((decision.RouteReason, decision.EndpointId),
                    new[] { ("forced_override", Fallback), ("forced_override", "google-gemini-pro-us"), ("no_capacity", "") });
                Assert.DoesNotContain(Primary1, decision.Fallbacks);
                Assert.DoesNotContain(Primary2, decision.Fallbacks);
            }

            var last = await node.RouteUntilAsync("customer_chat", d => d.EndpointId == Fallback);
            Assert.Equal(("forced_override", Fallback), (last.RouteReason, last.EndpointId));

            // Every node's admin view reads the same grain.
            foreach (var id in Primaries)
            {
                var view = await node.GetAdminJsonAsync($"admin/v1/endpoints/{id}");
                Assert.Equal("open", view.GetProperty("breaker").GetProperty("state").GetString());
                Assert.Equal("forced", view.GetProperty("breaker").GetProperty("reason").GetString());
                Assert.Equal("force_open", view.GetProperty("override").GetProperty("kind").GetString());
                Assert.Equal("alice", view.GetProperty("override").GetProperty("actor").GetString());
                Assert.Equal("INC-7 provider outage", view.GetProperty("override").GetProperty("reason").GetString());
            }
        }

        // Back to automatic through another node: every node routes to the primaries again.
        clock.Restart();
        foreach (var id in Primaries)
        {
            using var response = await cluster[2].PostAdminAsync($"admin/v1/endpoints/{id}/breaker", """{"state":"auto","reason":"INC-7 resolved"}""", "bob");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        var restored = await EveryNodeAsync(cluster, clock, "customer_chat", d => d.RouteReason == "primary", d => Assert.Contains(d.EndpointId, Primaries));
        output.WriteLine($"auto: Route on n1, n2, n3 back on a primary after {string.Join(", ", restored.Select(Ms))}");
        foreach (var node in cluster.Nodes)
        {
            var view = await node.GetAdminJsonAsync($"admin/v1/endpoints/{Primary1}");
            Assert.Equal("closed", view.GetProperty("breaker").GetProperty("state").GetString());
            Assert.Equal(JsonValueKind.Null, view.GetProperty("override").ValueKind);
        }

        var audit = (await cluster[1].GetChangesAuditAsync()).EnumerateArray().ToList();
        Assert.Equal(["breaker.auto", "breaker.auto", "breaker.force_open", "breaker.force_open"], audit.Select(e => e.GetProperty("action").GetString()));
        Assert.Equal(["bob", "bob", "alice", "alice"], audit.Select(e => e.GetProperty("actor").GetProperty("principal").GetString()));
    }

    [Fact]
    public async Task Server_errors_reported_to_different_nodes_open_the_breaker_everywhere()
    {
        await using var cluster = await StartAsync();
        var clock = Stopwatch.StartNew();

        // Primary 1: one unary ReportOutcome at a time, round-robin over the nodes.
        for (var i = 0; i < 6; i++)
        {
            var ack = await cluster[i % 3].Routing.ReportOutcomeAsync(ServerError(Primary1));
            Assert.Equal(1, ack.Accepted);
        }

        // Primary 2: a ReportOutcomes stream of two on each node.
        foreach (var node in cluster.Nodes)
        {
            using var call = node.Routing.ReportOutcomes();
            await call.RequestStream.WriteAsync(ServerError(Primary2));
            await call.RequestStream.WriteAsync(ServerError(Primary2));
            await call.RequestStream.CompleteAsync();
            var ack = await call;
            Assert.Equal((2, 0), (ack.Accepted, ack.Rejected));
        }

        var reported = clock.Elapsed;
        var opened = await EveryNodeAsync(cluster, clock, "customer_chat", d => d.RouteReason == "primary_breaker_open", d => Assert.Equal(Fallback, d.EndpointId));
        output.WriteLine($"12 failures reported in {Ms(reported)}; Route on n1, n2, n3 primary_breaker_open after {string.Join(", ", opened.Select(Ms))}");

        foreach (var node in cluster.Nodes)
        {
            foreach (var id in Primaries)
            {
                var breaker = (await node.GetAdminJsonAsync($"admin/v1/endpoints/{id}")).GetProperty("breaker");
                Assert.Equal(("open", "consecutive_failures"), (breaker.GetProperty("state").GetString(), breaker.GetProperty("reason").GetString()));
            }
        }
    }

    [Theory]
    [InlineData("endpoint")]
    [InlineData("class")]
    public async Task An_RPM_limit_of_600_holds_across_three_nodes_together(string limitOn)
    {
        var fleet = TestFleets.Load(limitOn == "endpoint" ? TestFleets.Limited : TestFleets.Budget, "rpm-test");
        // The clock starts before the grain activates (with a full bucket), so refill is never under-counted.
        var clock = Stopwatch.StartNew();
        await using var cluster = await StartAsync(fleet: fleet);
        var started = clock.Elapsed;
        var perNode = await Task.WhenAll(cluster.Nodes.Select(node => RpmLoad.RouteForAsync(node, TimeSpan.FromSeconds(6), workers: 3)));
        var elapsed = clock.Elapsed;
        var admitted = perNode.Sum(r => r.Admitted);
        var refused = perNode.Sum(r => r.Refused);

        // A token bucket of 600/min starts full and refills 10 a second; leases are carved from it, so nothing beyond
        // capacity + refill can be admitted over the window, whatever the node count: 600 + 10 t.
        var bound = 600 + (long)Math.Ceiling(elapsed.TotalSeconds * 10);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{limitOn} limit: admitted {admitted} (per node {string.Join(", ", perNode.Select(r => r.Admitted))}), refused {refused}, errors {perNode.Sum(r => r.Errors)}, " +
            $"in {elapsed.TotalSeconds:F1} s since before start ({started.TotalSeconds:F1} s to start 3 nodes); bound {bound}; 3 x 600 would be 1800"));
        Assert.InRange(admitted, 1, bound);
        Assert.True(refused > 0, "the load must exceed the limit for the test to mean anything");
        Assert.All(perNode, r => Assert.Equal(0, r.Errors));
        // The shared bucket is usable from every node (no node starves while another hoards).
        Assert.All(perNode, r => Assert.True(r.Admitted > 0));
        Assert.True(admitted >= 450, $"the cluster admitted only {admitted} of a full 600 bucket");

        var quota = limitOn == "endpoint"
            ? (await cluster[1].GetAdminJsonAsync("admin/v1/endpoints/limited")).GetProperty("quota")
            : (await cluster[1].GetAdminJsonAsync("admin/v1/classes/chat")).GetProperty("budget");
        Assert.Equal(600, quota.GetProperty("requestsPerMinute").GetInt64());
    }

    [Fact]
    public async Task A_policy_change_through_one_node_reroutes_every_node_and_of_two_concurrent_changes_one_gets_409()
    {
        await using var cluster = await StartAsync();
        var clock = Stopwatch.StartNew();
        // Proposed through one node, approved by another principal through another node.
        var proposal = await ProposeAsync(cluster[1],
            """{"primary":["anthropic-sonnet-us"],"fallbacks":[{"endpointId":"openai-gpt4o-us","evalScore":0.95}],"reason":"provider migration"}""", "frank");
        using (var response = await ApproveAsync(cluster[2], proposal, "gina"))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        var answered = clock.Elapsed;
        var rerouted = await EveryNodeAsync(cluster, clock, "customer_chat", d => d.EndpointId == Fallback, d =>
        {
            Assert.Equal("primary", d.RouteReason);
            Assert.Equal([Primary1], d.Fallbacks);
        });
        output.WriteLine($"policy: admin answered after {Ms(answered)}; Route on n1, n2, n3 rerouted after {string.Join(", ", rerouted.Select(Ms))}");
        foreach (var node in cluster.Nodes)
        {
            var view = await node.GetAdminJsonAsync("admin/v1/classes/customer_chat");
            Assert.Equal([Fallback], view.GetProperty("primary").EnumerateArray().Select(e => e.GetString()));
            Assert.Equal("frank", view.GetProperty("policyChangedBy").GetString());
        }

        // Two authors both propose from version v; their approvers approve through different nodes at once.
        var read = await cluster[0].GetAdminJsonAsync("admin/v1/classes/customer_chat");
        var version = read.GetProperty("version").GetInt64();
        var policyVersion = read.GetProperty("policyVersion").GetInt64();
        string Change(string fallback) =>
            $$"""{"fallbacks":[{"endpointId":"{{fallback}}","evalScore":0.92}],"reason":"fallback {{fallback}}","expectedVersion":{{policyVersion}}}""";
        var first = await ProposeAsync(cluster[0], Change(Primary2), "grace");
        var second = await ProposeAsync(cluster[2], Change("google-gemini-pro-us"), "heidi");
        var answers = await Task.WhenAll(ApproveAsync(cluster[0], first, "ivan"), ApproveAsync(cluster[2], second, "judy"));
        try
        {
            var statuses = answers.Select(a => a.StatusCode).ToList();
            var bodies = await Task.WhenAll(answers.Select(a => a.Content.ReadAsStringAsync()));
            output.WriteLine($"concurrent changes from version {version}: via n1 {(int)statuses[0]}, via n3 {(int)statuses[1]}; refused: {bodies[statuses[0] == HttpStatusCode.OK ? 1 : 0]}");
            Assert.Equal([HttpStatusCode.OK, HttpStatusCode.Conflict], statuses.Order());
            var loser = answers.Single(a => a.StatusCode == HttpStatusCode.Conflict);
            Assert.Equal("application/problem+json", loser.Content.Headers.ContentType?.MediaType);
            var winner = statuses[0] == HttpStatusCode.OK ? Primary2 : "google-gemini-pro-us";
            foreach (var node in cluster.Nodes)
            {
                var view = await node.GetAdminJsonAsync("admin/v1/classes/customer_chat");
                Assert.Equal([winner], view.GetProperty("fallbacks").EnumerateArray().Select(f => f.GetProperty("endpointId").GetString()));
                Assert.NotEqual(version, view.GetProperty("version").GetInt64());
                await node.RouteUntilAsync("customer_chat", d => d.Fallbacks.SequenceEqual([winner]));
            }

            var audit = (await cluster[1].GetChangesAuditAsync()).EnumerateArray().Select(e => e.GetProperty("action").GetString()).ToList();
            Assert.Equal(["class.policy", "class.policy"], audit.Where(a => a == "class.policy"));
            Assert.Single(audit, a => a == "policy.supersede");
        }
        finally
        {
            foreach (var answer in answers)
            {
                answer.Dispose();
            }
        }
    }

    [Fact]
    public async Task Overrides_survive_a_restart_of_every_node()
    {
        string clusterId;
        await using (var first = await StartAsync())
        {
            clusterId = first.ClusterId;
            using var response = await first[1].PostAdminAsync("admin/v1/endpoints/anthropic-sonnet-eu/drain", """{"reason":"EU capacity move"}""", "bob");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            foreach (var node in first.Nodes)
            {
                await node.RouteUntilAsync("legal_draft", d => d.RouteReason == "queue_only_hold", deadlineMs: 300);
            }

            var clock = Stopwatch.StartNew();
            await first.StopAllAsync();
            output.WriteLine($"stopped all three nodes in {Ms(clock.Elapsed)}");
        }

        // Every node stopped; a new set of nodes (new names and ports, nothing carried in process memory) joins.
        await using var second = new TestCluster(redis.Endpoint, output: output, clusterId: clusterId);
        await second.StartNodesAsync(NodeRole.Both, "m1", "m2", "m3");
        foreach (var node in second.Nodes)
        {
            var decision = await node.RouteUntilAsync("legal_draft", d => d.RouteReason == "queue_only_hold", deadlineMs: 300);
            Assert.Equal("", decision.EndpointId);
            var over = (await node.GetAdminJsonAsync("admin/v1/endpoints/anthropic-sonnet-eu")).GetProperty("override");
            Assert.Equal("drain", over.GetProperty("kind").GetString());
            Assert.Equal("bob", over.GetProperty("actor").GetString());
            Assert.Equal("EU capacity move", over.GetProperty("reason").GetString());
        }

        var entry = Assert.Single((await second[0].GetChangesAuditAsync()).EnumerateArray());
        Assert.Equal(("endpoint.drain", "bob", "anthropic-sonnet-eu", "EU capacity move"),
            (entry.GetProperty("action").GetString(), entry.GetProperty("actor").GetProperty("principal").GetString(), entry.GetProperty("target").GetString(), entry.GetProperty("reason").GetString()));

        using var undrain = await second[2].PostAdminAsync("admin/v1/endpoints/anthropic-sonnet-eu/undrain", """{"reason":"move done"}""", "bob");
        Assert.Equal(HttpStatusCode.OK, undrain.StatusCode);
        foreach (var node in second.Nodes)
        {
            Assert.Equal("anthropic-sonnet-eu", (await node.RouteUntilAsync("legal_draft", d => d.EndpointId.Length > 0)).EndpointId);
        }

        Assert.Equal(2, (await second[1].GetChangesAuditAsync()).GetArrayLength());
    }

    [Fact]
    public async Task Endpoint_and_class_grains_spread_over_the_three_silos()
    {
        var fleet = TestFleets.Many(endpoints: 24, classes: 6);
        await using var cluster = await StartAsync(fleet: fleet);
        Dictionary<string, int> perNode = [];
        var spread = await Poll.UntilAsync(async () =>
        {
            var view = await cluster[0].GetAdminJsonAsync("admin/v1/fleet");
            var hosts = view.GetProperty("endpoints").EnumerateArray().Concat(view.GetProperty("classes").EnumerateArray())
                .Select(g => g.GetProperty("host").GetString() ?? "").ToList();
            perNode = cluster.Nodes.ToDictionary(n => n.Name, n => hosts.Count(h => h.Contains(n.SiloEndpoint!, StringComparison.Ordinal)));
            return perNode.Values.All(count => count > 0) && perNode.Values.Sum() == hosts.Count;
        }, () => $"every silo hosts a grain; last count per silo {string.Join(", ", perNode.Select(p => $"{p.Key} {p.Value}"))}", TimeSpan.FromSeconds(90));
        output.WriteLine($"30 grains over 3 silos: {string.Join(", ", perNode.Select(p => $"{p.Key} {p.Value}"))}, spread {Ms(spread)} after the third silo started");

        // Every node routes every class, wherever its grains live.
        foreach (var node in cluster.Nodes)
        {
            for (var i = 0; i < 6; i++)
            {
                var name = string.Create(CultureInfo.InvariantCulture, $"c{i:D2}");
                Assert.Equal(string.Create(CultureInfo.InvariantCulture, $"e{i:D2}"), (await node.RouteUntilAsync(name, d => d.EndpointId.Length > 0)).EndpointId);
            }
        }
    }

    [Fact]
    public async Task Two_clusters_on_one_Redis_keep_their_state_apart()
    {
        await using var a = await StartAsync(names: ["a1"]);
        await using var b = await StartAsync(names: ["b1"]);
        using (var response = await a[0].PostAdminAsync("admin/v1/endpoints/anthropic-sonnet-eu/drain", """{"reason":"only in A"}""", "alice"))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        await a[0].RouteUntilAsync("legal_draft", d => d.RouteReason == "queue_only_hold", deadlineMs: 300);
        Assert.Equal("anthropic-sonnet-eu", (await b[0].RouteAsync("legal_draft")).EndpointId);
        Assert.Equal(JsonValueKind.Null, (await b[0].GetAdminJsonAsync("admin/v1/endpoints/anthropic-sonnet-eu")).GetProperty("override").ValueKind);
        Assert.Equal(0, (await b[0].GetChangesAuditAsync()).GetArrayLength());
        Assert.Equal(1, (await a[0].GetChangesAuditAsync()).GetArrayLength());
    }

    internal static Outcome ServerError(string endpointId) => new()
    {
        EndpointId = endpointId,
        WorkloadClass = "customer_chat",
        Status = OutcomeStatus.ServerError,
        HttpStatus = 503,
        LatencyMs = 80,
    };

    internal static string Ms(TimeSpan t) => string.Create(CultureInfo.InvariantCulture, $"{t.TotalMilliseconds:F0} ms");

    /// <summary>Polls Route on every data-plane node at once until <paramref name="done"/>; returns when each got
    /// there (from <paramref name="clock"/>), after checking the decision with <paramref name="check"/>.</summary>
    internal static async Task<TimeSpan[]> EveryNodeAsync(TestCluster cluster, Stopwatch clock, string workloadClass, Func<RouteDecision, bool> done,
        Action<RouteDecision> check) =>
        await Task.WhenAll(cluster.DataPlane.Select(async node =>
        {
            var decision = await node.RouteUntilAsync(workloadClass, done);
            var at = clock.Elapsed;
            check(decision);
            return at;
        }));

    private Task<TestCluster> StartAsync(string[]? names = null, ControlPlane.Fleet.FleetDefinition? fleet = null) =>
        TestCluster.StartAsync(redis.Endpoint, names ?? ["n1", "n2", "n3"], fleet, output);

    private static async Task<string> ProposeAsync(ClusterNode node, string json, string author)
    {
        using var response = await node.PostAdminAsync("admin/v1/classes/customer_chat/proposals", json, author);
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"propose: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
    }

    private static Task<HttpResponseMessage> ApproveAsync(ClusterNode node, string proposal, string approver) =>
        node.PostAdminAsync($"admin/v1/proposals/{Uri.EscapeDataString(proposal)}/approve", "{}", approver);
}
