using ControlPlane.Contracts.V1;
using ControlPlane.Server.Cluster.Tests.Support;
using ControlPlane.Testing.Redis;
using Grpc.Core;
using Xunit.Abstractions;

namespace ControlPlane.Server.Cluster.Tests.EndToEnd;

/// <summary>Decision ids across a cluster with no key configured: the cluster's generated key (persisted in Redis by
/// its grain) lets every node verify every node's decisions, and a decision reported to several nodes counts once.</summary>
[Collection(ClusterCollection.Name)]
public sealed class ClusterOutcomeTrustTests(RedisServerFixture redis, ITestOutputHelper output)
{
    [Fact]
    public async Task A_decision_made_on_one_node_verifies_on_the_others_and_counts_once_when_reported_to_all()
    {
        await using var cluster = await TestCluster.StartAsync(redis.Endpoint, ["n1", "n2", "n3"], output: output,
            configure: o => o.AcceptUnroutedOutcomes = false);
        var decision = await cluster[0].Routing.RouteAsync(
            new RouteRequest { WorkloadClass = "customer_chat", EstimatedInputTokens = 100, MaxOutputTokens = 100, RequestId = "cluster-1" },
            deadline: DateTime.UtcNow.AddSeconds(10));
        var outcome = new Outcome
        {
            DecisionId = decision.DecisionId,
            EndpointId = decision.EndpointId,
            WorkloadClass = "customer_chat",
            Status = OutcomeStatus.Success,
            LatencyMs = 250,
        };

        foreach (var node in cluster.Nodes)
        {
            Assert.Equal(1, (await node.Routing.ReportOutcomeAsync(outcome)).Accepted);
        }

        var mismatched = outcome.Clone();
        mismatched.EndpointId = decision.Fallbacks[0];
        var error = await Assert.ThrowsAsync<RpcException>(async () => await cluster[2].Routing.ReportOutcomeAsync(mismatched));
        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.StartsWith("decision_id:", error.Status.Detail, StringComparison.Ordinal);

        // Flushed within 50 ms by each node; give the grains time to take all three, then check each counted one.
        var deadline = DateTime.UtcNow.AddSeconds(20);
        long requests = 0, events = 0;
        while (DateTime.UtcNow < deadline && (requests, events) != (1, 1))
        {
            await Task.Delay(100);
            requests = (await cluster[1].GetAdminJsonAsync($"admin/v1/endpoints/{decision.EndpointId}")).GetProperty("health").GetProperty("requests").GetInt64();
            events = (await cluster[2].GetAdminJsonAsync("admin/v1/classes/customer_chat")).GetProperty("availability").GetProperty("events").GetInt64();
        }

        await Task.Delay(500);
        requests = (await cluster[1].GetAdminJsonAsync($"admin/v1/endpoints/{decision.EndpointId}")).GetProperty("health").GetProperty("requests").GetInt64();
        events = (await cluster[2].GetAdminJsonAsync("admin/v1/classes/customer_chat")).GetProperty("availability").GetProperty("events").GetInt64();
        Assert.Equal((1L, 1L), (requests, events));
    }
}
