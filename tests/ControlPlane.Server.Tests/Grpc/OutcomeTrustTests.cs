using ControlPlane.Contracts.V1;
using ControlPlane.Server.Tests.EndToEnd;
using Grpc.Core;

namespace ControlPlane.Server.Tests.Grpc;

/// <summary>Outcomes a node accepts belong to a decision of its cluster, for that decision's endpoint and class, over a
/// real channel: a node as shipped (unrouted outcomes refused).</summary>
public sealed class OutcomeTrustTests(OutcomeTrustTests.StrictNodeFixture fixture) : IClassFixture<OutcomeTrustTests.StrictNodeFixture>
{
    private ControlPlaneNode Node => fixture.Node;

    [Fact]
    public async Task ReportOutcome_with_a_forged_or_mismatched_decision_is_INVALID_ARGUMENT_naming_decision_id()
    {
        var decision = await RouteAsync("forged-1");
        var forged = decision.DecisionId[..^1] + (decision.DecisionId[^1] == 'A' ? 'B' : 'A');
        foreach (var outcome in new[]
        {
            Success(forged, decision.EndpointId, "customer_chat"),
            Success(decision.DecisionId, decision.Fallbacks[0], "customer_chat"),
            Success(decision.DecisionId, decision.EndpointId, "internal_copilot"),
            Success("", decision.EndpointId, "customer_chat"),
        })
        {
            var error = await Assert.ThrowsAsync<RpcException>(async () => await Node.Routing.ReportOutcomeAsync(outcome));
            Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
            Assert.StartsWith("decision_id:", error.Status.Detail, StringComparison.Ordinal);
        }

        var ack = await Node.Routing.ReportOutcomeAsync(Success(decision.DecisionId, decision.EndpointId, "customer_chat"));
        Assert.Equal(1, ack.Accepted);
    }

    [Fact]
    public async Task A_stream_refuses_the_bad_item_by_index_and_accepts_the_good_ones_around_it()
    {
        var before = await RouteAsync("stream-1");
        var after = await RouteAsync("stream-2");
        using var call = Node.Routing.ReportOutcomes();
        await call.RequestStream.WriteAsync(Success(before.DecisionId, before.EndpointId, "customer_chat"));
        await call.RequestStream.WriteAsync(Success(before.DecisionId, before.EndpointId, "legal_draft"));
        await call.RequestStream.WriteAsync(Success("", after.EndpointId, "customer_chat"));
        await call.RequestStream.WriteAsync(Success(after.DecisionId, after.EndpointId, "customer_chat"));
        await call.RequestStream.CompleteAsync();

        var ack = await call.ResponseAsync;

        Assert.Equal((2L, 2L), (ack.Accepted, ack.Rejected));
        Assert.Equal(2, ack.Errors.Count);
        Assert.StartsWith("outcomes[1].decision_id:", ack.Errors[0], StringComparison.Ordinal);
        Assert.StartsWith("outcomes[2].decision_id:", ack.Errors[1], StringComparison.Ordinal);
    }

    private async Task<RouteDecision> RouteAsync(string requestId)
    {
        var decision = await Node.Routing.RouteAsync(
            new RouteRequest { WorkloadClass = "customer_chat", EstimatedInputTokens = 100, MaxOutputTokens = 100, RequestId = requestId },
            deadline: DateTime.UtcNow.AddSeconds(10));
        Assert.NotEqual("", decision.EndpointId);
        return decision;
    }

    private static Outcome Success(string decisionId, string endpointId, string workloadClass) => new()
    {
        DecisionId = decisionId,
        EndpointId = endpointId,
        WorkloadClass = workloadClass,
        Status = OutcomeStatus.Success,
        LatencyMs = 300,
    };

    /// <summary>One node as shipped: outcomes without a decision id are refused.</summary>
    public sealed class StrictNodeFixture : IAsyncLifetime
    {
        internal ControlPlaneNode Node { get; private set; } = null!;

        public async Task InitializeAsync() => Node = await ControlPlaneNode.StartInMemoryAsync(acceptUnroutedOutcomes: false);

        public async Task DisposeAsync() => await Node.DisposeAsync();
    }
}
