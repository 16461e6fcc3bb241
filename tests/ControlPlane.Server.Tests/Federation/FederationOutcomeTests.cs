using System.Net.Http.Json;
using System.Text.Json;
using ControlPlane.Contracts.V1;
using ControlPlane.Server.Tests.EndToEnd;
using ControlPlane.Service.Security;
using Grpc.Core;

namespace ControlPlane.Server.Tests.Federation;

/// <summary>Shared health: outcomes reported in a follower region count towards the endpoint's health in its home
/// region (forwarded in batches), once per batch id; the follower does not count them itself; bad batches are refused
/// naming the field.</summary>
public sealed class FederationOutcomeTests
{
    private static async Task<long> RequestsAsync(ControlPlaneNode node, string id) =>
        (await node.GetAdminJsonAsync($"admin/v1/endpoints/{id}")).GetProperty("health").GetProperty("requests").GetInt64();

    private static async Task UntilRequestsAsync(ControlPlaneNode node, string id, long expected)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        long last = -1;
        while (!timeout.IsCancellationRequested)
        {
            last = await RequestsAsync(node, id);
            if (last == expected)
            {
                return;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"{id}: {last} requests, expected {expected}");
    }

    private static ForwardedOutcome Forwarded(string endpoint, int i) => new()
    {
        Outcome = new Outcome { EndpointId = endpoint, WorkloadClass = "chat", Status = OutcomeStatus.Success, LatencyMs = 100 + i, InputTokens = 10, OutputTokens = 5 },
    };

    [Fact]
    public async Task Outcomes_reported_in_the_follower_region_count_in_the_home_region_once()
    {
        await using var regions = await TwoRegions.StartAsync();
        for (int i = 0; i < 5; i++)
        {
            await regions.Eu.Routing.ReportOutcomeAsync(new Outcome
            {
                EndpointId = "ep-us", WorkloadClass = "chat", Status = OutcomeStatus.ServerError, HttpStatus = 500, LatencyMs = 120, RequestId = $"eu-{i}",
            });
        }

        await UntilRequestsAsync(regions.Us, "ep-us", 5);
        Assert.Equal(0, await RequestsAsync(regions.Eu, "ep-us"));

        // The same batch twice (a retry after an ambiguous failure) counts once.
        var client = new Contracts.V1.Federation.FederationClient(regions.Us.Channel);
        var batch = new ForwardOutcomesRequest { Region = "eu-west", BatchId = "retry-1", Outcomes = { Enumerable.Range(0, 3).Select(i => Forwarded("ep-us", i)) } };
        Assert.Equal(3, (await client.ForwardOutcomesAsync(batch)).Accepted);
        await client.ForwardOutcomesAsync(batch);
        await UntilRequestsAsync(regions.Us, "ep-us", 8);
        await Task.Delay(500);
        Assert.Equal(8, await RequestsAsync(regions.Us, "ep-us"));
    }

    [Fact]
    public async Task Forwarded_batches_are_bounded_checked_and_need_the_federation_role()
    {
        await using var regions = await TwoRegions.StartAsync();
        var client = new Contracts.V1.Federation.FederationClient(regions.Us.Channel);
        var dataPlane = await regions.Us.GrpcAsAsync("fed-out-dp", Roles.DataPlane);
        var denied = await Assert.ThrowsAsync<RpcException>(async () => await client.ForwardOutcomesAsync(
            new ForwardOutcomesRequest { Region = "eu-west", BatchId = "x", Outcomes = { Forwarded("ep-us", 0) } }, dataPlane));
        Assert.Equal(StatusCode.PermissionDenied, denied.StatusCode);

        (ForwardOutcomesRequest Request, StatusCode Code, string Message)[] bad =
        [
            (new() { Region = "eu-west", BatchId = "big", Outcomes = { Enumerable.Range(0, 1025).Select(i => Forwarded("ep-us", i)) } },
                StatusCode.InvalidArgument, "outcomes: between 1 and 1024 outcomes, got 1025"),
            (new() { Region = "eu-west", BatchId = "none" }, StatusCode.InvalidArgument, "outcomes: between 1 and 1024 outcomes, got 0"),
            (new() { Region = "eu-west", Outcomes = { Forwarded("ep-us", 0) } }, StatusCode.InvalidArgument, "batch_id:"),
            (new() { Region = "eu-west", BatchId = "u", Outcomes = { Forwarded("ep-us", 0), Forwarded("nope", 1) } },
                StatusCode.NotFound, "outcomes[1].outcome.endpoint_id: unknown endpoint 'nope'"),
            (new() { Region = "eu-west", BatchId = "h", Outcomes = { Forwarded("ep-eu", 0) } },
                StatusCode.InvalidArgument, "outcomes[0].outcome.endpoint_id: endpoint 'ep-eu' is homed in region 'eu-west', not here"),
            (new() { Region = "eu-west", BatchId = "s", Outcomes = { new ForwardedOutcome { Outcome = new Outcome { EndpointId = "ep-us", WorkloadClass = "chat" } } } },
                StatusCode.InvalidArgument, "outcomes[0].outcome.status:"),
            (new() { Region = "eu-west", BatchId = "l", Outcomes = { new ForwardedOutcome { Outcome = new Outcome { EndpointId = "ep-us", WorkloadClass = "chat", Status = OutcomeStatus.Success, LatencyMs = -1 } } } },
                StatusCode.InvalidArgument, "outcomes[0].outcome: latency_ms"),
            (new() { Region = "mars", BatchId = "r", Outcomes = { Forwarded("ep-us", 0) } }, StatusCode.InvalidArgument, "region: unknown region 'mars'"),
        ];
        foreach (var (request, code, message) in bad)
        {
            var e = await Assert.ThrowsAsync<RpcException>(async () => await client.ForwardOutcomesAsync(request));
            Assert.Equal(code, e.StatusCode);
            Assert.StartsWith(message, e.Status.Detail, StringComparison.Ordinal);
        }

        // None was counted, not even the good outcome before the bad one.
        Assert.Equal(0, await RequestsAsync(regions.Us, "ep-us"));
    }
}
