using ControlPlane.Contracts.V1;
using ControlPlane.Server.Tests.EndToEnd;
using ControlPlane.Service.Security;
using Grpc.Core;

namespace ControlPlane.Server.Tests.Security;

/// <summary>Synthetic outcomes over the real gRPC listener: only a credential with the prober role may send them (a
/// data-plane or reporter key gets PERMISSION_DENIED, or a rejected entry in a stream's ack), a prober-only key sends
/// nothing else, and a refused one never reaches the endpoint.</summary>
public sealed class SyntheticOutcomeAuthorizationTests
{
    private const string Endpoint = "openai-gpt4o-us";

    [Fact]
    public async Task Only_a_prober_key_sends_synthetic_outcomes_and_a_prober_key_sends_nothing_else()
    {
        await using var node = await ControlPlaneNode.StartInMemoryAsync();
        var proxy = await node.GrpcAsAsync("proxy-1", Roles.DataPlane);
        var reporter = await node.GrpcAsAsync("evals-1", Roles.Reporter);
        var prober = await node.GrpcAsAsync("prober-1", Roles.Prober);

        foreach (var refused in new[] { proxy, reporter })
        {
            var denied = await Assert.ThrowsAsync<RpcException>(() => node.Routing.ReportOutcomeAsync(Synthetic("denied"), refused).ResponseAsync);
            Assert.Equal(StatusCode.PermissionDenied, denied.StatusCode);
            Assert.Contains("synthetic", denied.Status.Detail, StringComparison.Ordinal);
        }

        // In a stream, the refused synthetic outcome is rejected and named; the routed one beside it is accepted.
        using (var stream = node.Routing.ReportOutcomes(proxy))
        {
            await stream.RequestStream.WriteAsync(Synthetic("streamed"));
            await stream.RequestStream.WriteAsync(new Outcome
            {
                EndpointId = Endpoint, WorkloadClass = "customer_chat", Status = OutcomeStatus.Success, LatencyMs = 10, RequestId = "routed-1",
            });
            await stream.RequestStream.CompleteAsync();
            var ack = await stream.ResponseAsync;
            Assert.Equal((1, 1), (ack.Accepted, ack.Rejected));
            Assert.StartsWith("outcomes[0].synthetic: synthetic outcomes need the prober role", Assert.Single(ack.Errors), StringComparison.Ordinal);
        }

        var notSynthetic = await Assert.ThrowsAsync<RpcException>(() => node.Routing.ReportOutcomeAsync(
            new Outcome { EndpointId = Endpoint, WorkloadClass = "customer_chat", Status = OutcomeStatus.Success, LatencyMs = 10 }, prober).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, notSynthetic.StatusCode);
        Assert.StartsWith("synthetic: must be true", notSynthetic.Status.Detail, StringComparison.Ordinal);

        var withClass = Synthetic("with-class");
        withClass.WorkloadClass = "customer_chat";
        var invalid = await Assert.ThrowsAsync<RpcException>(() => node.Routing.ReportOutcomeAsync(withClass, prober).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, invalid.StatusCode);
        Assert.StartsWith("workload_class:", invalid.Status.Detail, StringComparison.Ordinal);

        Assert.Equal(1, (await node.Routing.ReportOutcomeAsync(Synthetic("accepted"), prober)).Accepted);

        // The endpoint saw the routed outcome and the prober's synthetic one: none of the refused ones.
        var requests = 0L;
        for (var i = 0; i < 200 && requests < 2; i++)
        {
            await Task.Delay(50);
            requests = (await node.GetAdminJsonAsync($"admin/v1/endpoints/{Endpoint}")).GetProperty("health").GetProperty("requests").GetInt64();
        }

        await Task.Delay(300);
        requests = (await node.GetAdminJsonAsync($"admin/v1/endpoints/{Endpoint}")).GetProperty("health").GetProperty("requests").GetInt64();
        Assert.Equal(2, requests);
    }

    [Fact]
    public async Task A_prober_key_may_watch_the_routing_table()
    {
        await using var node = await ControlPlaneNode.StartInMemoryAsync();
        var prober = await node.GrpcAsAsync("prober-2", Roles.Prober);
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var watch = node.Routing.WatchRoutingTable(new WatchRoutingTableRequest(), prober.WithCancellationToken(cancel.Token));
        Assert.True(await watch.ResponseStream.MoveNext(cancel.Token));
        Assert.Contains(watch.ResponseStream.Current.Endpoints, e => e.EndpointId == Endpoint);
    }

    private static Outcome Synthetic(string id) => new()
    {
        EndpointId = Endpoint,
        Synthetic = true,
        RequestId = "probe-" + id,
        Status = OutcomeStatus.Success,
        LatencyMs = 120,
        Quality = new Quality { Verdict = QualityVerdict.Pass },
    };
}
