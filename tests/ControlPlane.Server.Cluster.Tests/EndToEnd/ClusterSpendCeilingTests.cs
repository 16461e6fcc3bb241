using System.Diagnostics;
using System.Globalization;
using ControlPlane.Contracts.V1;
using ControlPlane.Server.Cluster.Tests.Support;
using ControlPlane.Testing.Redis;
using Xunit.Abstractions;

namespace ControlPlane.Server.Cluster.Tests.EndToEnd;

/// <summary>A class's spend ceiling is one ceiling for the whole cluster: three members route it over real gRPC and
/// report the outcomes until every one of them answers <c>spend_ceiling</c>, and together they never admit more than
/// the ceiling.</summary>
[Collection(ClusterCollection.Name)]
public sealed class ClusterSpendCeilingTests(RedisServerFixture redis, ITestOutputHelper output)
{
    // $2 a day. A request (1,000 in, at most 500 out) is estimated at $0.002 and reported at 1,000 in, 250 out: $0.0015.
    private const string Fleet = """
        fleet: { name: spend-test }
        endpoints:
          - { id: metered, provider: p, model: m, model_version: v1, region: r, context_window: 128000, capabilities: [streaming], price_per_1k: { input: 0.001, output: 0.002 }, limits: { tpm: 0, rpm: 0 }, owner_team: t, on_call: t }
        classes:
          - { name: chat, owner: t, mode: auto_fallback, primary: [metered], budget: { usd_per_day: 2 }, slo: { availability: 0.99 } }
        """;

    private const decimal Ceiling = 2m;
    private const decimal Actual = 0.0015m;

    [Fact]
    public async Task Three_members_share_one_spend_ceiling()
    {
        var fleet = ControlPlane.Fleet.FleetLoader.Load(new StringReader(Fleet), "spend-test.yaml");
        await using var cluster = await TestCluster.StartAsync(redis.Endpoint, ["s1", "s2", "s3"], fleet, output);
        var clock = Stopwatch.StartNew();
        var perNode = await Task.WhenAll(cluster.Nodes.Select(SpendDownAsync));
        var admitted = perNode.Sum();
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"admitted {admitted} requests (per node {string.Join(", ", perNode)}) = ${admitted * Actual} of a ${Ceiling} ceiling in {clock.Elapsed.TotalSeconds:F1} s"));

        Assert.All(perNode, n => Assert.True(n > 0));
        Assert.True(admitted * Actual <= Ceiling, $"${admitted * Actual} admitted over a ${Ceiling} ceiling");
        Assert.True(admitted * Actual >= Ceiling * 0.9m, $"only ${admitted * Actual} of ${Ceiling} admitted");
        foreach (var node in cluster.Nodes)
        {
            var decision = await node.RouteAsync("chat");
            Assert.Equal(("", "spend_ceiling"), (decision.EndpointId, decision.RouteReason));
            var alerts = (await node.GetAdminJsonAsync("admin/v1/classes/chat")).GetProperty("alerts").EnumerateArray()
                .Select(a => a.GetProperty("name").GetString());
            Assert.Contains("spend-day-100", alerts);
        }
    }

    // Routes and reports until the node has answered spend_ceiling for a whole second.
    private static async Task<long> SpendDownAsync(ClusterNode node)
    {
        long admitted = 0;
        var refusedSince = (Stopwatch?)null;
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(60))
        {
            var decision = await node.RouteAsync("chat");
            if (decision.EndpointId.Length == 0)
            {
                Assert.Equal("spend_ceiling", decision.RouteReason);
                refusedSince ??= Stopwatch.StartNew();
                if (refusedSince.Elapsed >= TimeSpan.FromSeconds(1))
                {
                    return admitted;
                }

                await Task.Delay(20);
                continue;
            }

            refusedSince = null;
            admitted++;
            await node.Routing.ReportOutcomeAsync(new Outcome
            {
                DecisionId = decision.DecisionId,
                EndpointId = decision.EndpointId,
                WorkloadClass = "chat",
                Status = OutcomeStatus.Success,
                HttpStatus = 200,
                LatencyMs = 300,
                InputTokens = 1_000,
                OutputTokens = 250,
            });
        }

        throw new TimeoutException("the node was never refused");
    }
}
