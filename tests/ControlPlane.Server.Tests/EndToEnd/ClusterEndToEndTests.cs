using System.Diagnostics;
using System.Net;
using ControlPlane.Contracts.V1;
using ControlPlane.Fleet;
using ControlPlane.Grpc;
using ControlPlane.Testing.Redis;
using Xunit.Abstractions;

namespace ControlPlane.Server.Tests.EndToEnd;

/// <summary>Three cluster members (each a full node as <c>controlplane --redis</c> builds it, on its own sockets)
/// sharing one real <c>redis-server</c>: breaker overrides reach every node, quotas are shared, state survives.</summary>
public sealed class ClusterEndToEndTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string Primary1 = "openai-gpt4o-us";
    private const string Primary2 = "openai-gpt41-us";

    // One endpoint limited to 600 requests a minute (tokens unlimited), the only endpoint of its class.
    private const string LimitedFleet = """
        fleet: { name: rpm-test }
        endpoints:
          - { id: limited, provider: p, model: m, model_version: v1, region: r, context_window: 128000, capabilities: [streaming], price_per_1k: { input: 0.001, output: 0.002 }, limits: { tpm: 0, rpm: 600 }, owner_team: t, on_call: t }
          - { id: spare, provider: q, model: m, model_version: v1, region: r, context_window: 128000, capabilities: [streaming], price_per_1k: { input: 0.001, output: 0.002 }, limits: { tpm: 0, rpm: 0 }, owner_team: t, on_call: t }
        classes:
          - { name: chat, owner: t, mode: queue_only, primary: [limited], slo: { availability: 0.99 } }
          - { name: other, owner: t, mode: auto_fallback, primary: [spare], slo: { availability: 0.99 } }
        """;

    // The same 600 a minute as a workload-class budget over an unlimited endpoint.
    private const string BudgetFleet = """
        fleet: { name: budget-test }
        endpoints:
          - { id: limited, provider: p, model: m, model_version: v1, region: r, context_window: 128000, capabilities: [streaming], price_per_1k: { input: 0.001, output: 0.002 }, limits: { tpm: 0, rpm: 0 }, owner_team: t, on_call: t }
        classes:
          - { name: chat, owner: t, mode: queue_only, primary: [limited], budget: { tokens_per_minute: 0, requests_per_minute: 600 }, slo: { availability: 0.99 } }
        """;

    private RedisServerFixture _redis = null!;

    public async Task InitializeAsync() => _redis = await RedisServerFixture.StartNewAsync();

    public async Task DisposeAsync() => await _redis.DisposeAsync();

    [Fact]
    public async Task Forcing_a_breaker_open_through_one_node_makes_Route_on_every_node_stop_choosing_it()
    {
        await using var nodes = await StartClusterAsync();
        foreach (var node in nodes.All)
        {
            Assert.Contains((await node.RouteAsync("customer_chat")).EndpointId, new[] { Primary1, Primary2 });
        }

        var clock = Stopwatch.StartNew();
        foreach (var id in new[] { Primary1, Primary2 })
        {
            using var response = await nodes[0].PostAdminAsync($"admin/v1/endpoints/{id}/breaker", """{"state":"open","reason":"INC-7 provider outage","ttlSeconds":3600}""", "alice");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        var answered = clock.Elapsed;
        var seen = new TimeSpan[3];
        for (var n = 0; n < 3; n++)
        {
            var decision = await nodes[n].RouteUntilAsync("customer_chat", d => d.RouteReason == "forced_override");
            seen[n] = clock.Elapsed;
            Assert.Equal("forced_override", decision.RouteReason);
            Assert.Equal("anthropic-sonnet-us", decision.EndpointId);
        }

        output.WriteLine($"admin answered after {answered.TotalMilliseconds:F1} ms; every node routed around it after {seen.Max().TotalMilliseconds:F1} ms");
        foreach (var node in nodes.All)
        {
            for (var i = 0; i < 20; i++)
            {
                var decision = await node.RouteAsync("customer_chat");
                Assert.DoesNotContain(decision.EndpointId, new[] { Primary1, Primary2 });
                Assert.DoesNotContain(Primary1, decision.Fallbacks);
            }

            // Every node's admin view reads the same grain.
            var view = await node.GetAdminJsonAsync($"admin/v1/endpoints/{Primary1}");
            Assert.Equal("open", view.GetProperty("breaker").GetProperty("state").GetString());
            Assert.Equal("alice", view.GetProperty("override").GetProperty("actor").GetString());
        }

        // Back to automatic through another node: every node routes to the primaries again.
        foreach (var id in new[] { Primary1, Primary2 })
        {
            using var response = await nodes[2].PostAdminAsync($"admin/v1/endpoints/{id}/breaker", """{"state":"auto","reason":"INC-7 resolved"}""", "bob");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        foreach (var node in nodes.All)
        {
            var decision = await node.RouteUntilAsync("customer_chat", d => d.RouteReason == "primary");
            Assert.Contains(decision.EndpointId, new[] { Primary1, Primary2 });
        }

        var audit = await nodes[1].GetAdminJsonAsync("admin/v1/audit");
        Assert.Equal(4, audit.GetArrayLength());
    }

    [Fact]
    public async Task A_policy_change_through_one_node_reroutes_every_node()
    {
        await using var nodes = await StartClusterAsync();
        using var response = await nodes[1].PostAdminAsync("admin/v1/classes/customer_chat/policy",
            """{"primary":["anthropic-sonnet-us"],"fallbacks":[{"endpointId":"openai-gpt4o-us","evalScore":0.95}],"reason":"provider migration"}""", "frank");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        foreach (var node in nodes.All)
        {
            var decision = await node.RouteUntilAsync("customer_chat", d => d.EndpointId == "anthropic-sonnet-us");
            Assert.Equal(("primary", "anthropic-sonnet-us"), (decision.RouteReason, decision.EndpointId));
            Assert.Equal(["openai-gpt4o-us"], decision.Fallbacks);
        }
    }

    [Theory]
    [InlineData("endpoint")]
    [InlineData("class")]
    public async Task An_RPM_limit_of_600_holds_across_three_nodes_together(string limitOn)
    {
        var fleet = FleetLoader.Load(new StringReader(limitOn == "endpoint" ? LimitedFleet : BudgetFleet), "rpm-test.yaml");
        // The clock starts before the endpoint grain activates (with a full bucket), so refill is never under-counted.
        var clock = Stopwatch.StartNew();
        await using var nodes = await StartClusterAsync(fleet);
        var duration = TimeSpan.FromSeconds(6);
        var perNode = await Task.WhenAll(nodes.All.Select(node => RouteForAsync(node, duration, workers: 3)));
        var elapsed = clock.Elapsed;
        var admitted = perNode.Sum(r => r.Admitted);
        var refused = perNode.Sum(r => r.Refused);

        // A token bucket of 600/min starts full and refills 10 per second; leases are carved from that bucket, so the
        // documented lease slack is zero: nothing beyond capacity + refill can be admitted, whatever the node count.
        // Over any window of t seconds: at most 600 + 10 t (over a whole cold minute 1,200, at steady state 600 a minute).
        var bound = 600 + (long)Math.Ceiling(elapsed.TotalSeconds * 10);
        output.WriteLine($"{limitOn} limit: admitted {admitted} (per node {string.Join(", ", perNode.Select(r => r.Admitted))}), refused {refused}, " +
            $"in {elapsed.TotalSeconds:F1} s; bound {bound}; 3 x 600 would be 1800");
        Assert.InRange(admitted, 1, bound);
        Assert.True(refused > 0, "the load must exceed the limit for the test to mean anything");
        // The shared bucket is usable from every node (no node starves while another hoards).
        Assert.All(perNode, r => Assert.True(r.Admitted > 0));
        Assert.True(admitted >= 450, $"the cluster admitted only {admitted} of a full 600 bucket");

        var quota = limitOn == "endpoint"
            ? (await nodes[1].GetAdminJsonAsync("admin/v1/endpoints/limited")).GetProperty("quota")
            : (await nodes[1].GetAdminJsonAsync("admin/v1/classes/chat")).GetProperty("budget");
        Assert.Equal(600, quota.GetProperty("requestsPerMinute").GetInt64());
    }

    [Fact]
    public async Task A_forced_override_survives_a_restart_of_every_node()
    {
        await using (var first = await StartClusterAsync())
        {
            using var response = await first[1].PostAdminAsync("admin/v1/endpoints/anthropic-sonnet-eu/drain", """{"reason":"EU capacity move"}""", "bob");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            foreach (var node in first.All)
            {
                Assert.Equal("queue_only_hold", (await node.RouteUntilAsync("legal_draft", d => d.RouteReason == "queue_only_hold")).RouteReason);
            }
        }

        // Every node stopped; a new set of nodes (new names, so nothing is carried in process memory) joins.
        await using var second = await StartClusterAsync(names: ["m1", "m2", "m3"]);
        foreach (var node in second.All)
        {
            Assert.Equal("queue_only_hold", (await node.RouteAsync("legal_draft")).RouteReason);
            var over = (await node.GetAdminJsonAsync("admin/v1/endpoints/anthropic-sonnet-eu")).GetProperty("override");
            Assert.Equal("drain", over.GetProperty("kind").GetString());
            Assert.Equal("bob", over.GetProperty("actor").GetString());
            Assert.Equal("EU capacity move", over.GetProperty("reason").GetString());
        }

        Assert.Equal("endpoint.drain", (await second[0].GetAdminJsonAsync("admin/v1/audit")).EnumerateArray().Single().GetProperty("action").GetString());
        using var undrain = await second[2].PostAdminAsync("admin/v1/endpoints/anthropic-sonnet-eu/undrain", """{"reason":"move done"}""", "bob");
        Assert.Equal(HttpStatusCode.OK, undrain.StatusCode);
        foreach (var node in second.All)
        {
            Assert.Equal("anthropic-sonnet-eu", (await node.RouteUntilAsync("legal_draft", d => d.EndpointId.Length > 0)).EndpointId);
        }
    }

    [Fact]
    public async Task Outcomes_reported_to_any_node_reach_the_owning_grain_and_open_the_breaker_everywhere()
    {
        await using var nodes = await StartClusterAsync();
        for (var i = 0; i < 6; i++)
        {
            foreach (var id in new[] { Primary1, Primary2 })
            {
                // Spread over the nodes: the owning grain sees the failures of the whole fleet of proxies.
                var ack = await nodes[i % 3].Invoker.UnaryAsync(ControlPlaneNode.ReportOutcome, new Outcome
                {
                    EndpointId = id,
                    WorkloadClass = "customer_chat",
                    Status = OutcomeStatus.ServerError,
                    HttpStatus = 503,
                    LatencyMs = 80,
                });
                Assert.Equal(1, ack.Accepted);
            }
        }

        foreach (var node in nodes.All)
        {
            var decision = await node.RouteUntilAsync("customer_chat", d => d.RouteReason == "primary_breaker_open");
            Assert.Equal("primary_breaker_open", decision.RouteReason);
            Assert.Equal("anthropic-sonnet-us", decision.EndpointId);
        }
    }

    [Fact]
    public async Task When_the_node_holding_the_grains_stops_an_override_still_reaches_every_remaining_node()
    {
        // Subscriptions renew only every 20 minutes here: just the re-subscription on a cluster view change can
        // reconnect the remaining nodes to the grains' new activations.
        await using var nodes = await StartClusterAsync(configure: o => o.SubscriptionExpiry = TimeSpan.FromHours(1));
        // n1 started first and activated every grain (a claim stays with its first owner), so its stop moves them all.
        await nodes.StopAsync(0);

        foreach (var id in new[] { Primary1, Primary2 })
        {
            using var response = await nodes[0].PostAdminAsync($"admin/v1/endpoints/{id}/breaker", """{"state":"open","reason":"after failover"}""", "carol");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        foreach (var node in nodes.All)
        {
            Assert.Equal("forced_override", (await node.RouteUntilAsync("customer_chat", d => d.RouteReason == "forced_override")).RouteReason);
        }
    }

    private async Task<Cluster> StartClusterAsync(FleetDefinition? fleet = null, string[]? names = null, Action<ControlPlane.Service.ControlPlaneOptions>? configure = null)
    {
        names ??= ["n1", "n2", "n3"];
        var nodes = new List<ControlPlaneNode>();
        try
        {
            foreach (var name in names)
            {
                nodes.Add(await ControlPlaneNode.StartClusterMemberAsync(_redis.Endpoint, name, fleet, configure: configure));
            }

            return new Cluster(nodes);
        }
        catch
        {
            await new Cluster(nodes).DisposeAsync();
            throw;
        }
    }

    private static async Task<(long Admitted, long Refused)> RouteForAsync(ControlPlaneNode node, TimeSpan duration, int workers)
    {
        long admitted = 0, refused = 0;
        var until = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, workers).Select(async _ =>
        {
            while (until.Elapsed < duration)
            {
                var decision = await node.RouteAsync("chat", input: 100, maxOutput: 100);
                if (decision.EndpointId == "limited")
                {
                    Interlocked.Increment(ref admitted);
                }
                else
                {
                    Assert.Equal("", decision.EndpointId);
                    Interlocked.Increment(ref refused);
                }
            }
        }));
        return (admitted, refused);
    }

    private sealed class Cluster(List<ControlPlaneNode> nodes) : IAsyncDisposable
    {
        public IReadOnlyList<ControlPlaneNode> All => nodes;

        public ControlPlaneNode this[int index] => nodes[index];

        /// <summary>Stops one node (gracefully, as SIGTERM would) and drops it from the cluster's list.</summary>
        public async Task StopAsync(int index)
        {
            var node = nodes[index];
            nodes.RemoveAt(index);
            await node.DisposeAsync();
        }

        public async ValueTask DisposeAsync()
        {
            // One by one, as a rolling stop would: each hands its grains to the others.
            foreach (var node in nodes)
            {
                await node.DisposeAsync();
            }
        }
    }
}
