using ControlPlane.Client.Tests.Support;
using ControlPlane.Contracts.V1;
using Grpc.Core;

namespace ControlPlane.Client.Tests;

/// <summary><see cref="ControlPlaneClient"/> against a real Grpc.AspNetCore node on loopback h2c.</summary>
public sealed class ControlPlaneClientTests
{
    private static RouteRequest Chat() => new() { WorkloadClass = "customer_chat", EstimatedInputTokens = 1000, MaxOutputTokens = 500 };

    [Fact]
    public async Task Route_returns_the_node_decision_and_the_node_sees_the_default_deadline()
    {
        await using var node = await RoutingNode.StartAsync();
        using var client = new ControlPlaneClient(node.Address, new ControlPlaneClientOptions { RouteTimeout = TimeSpan.FromSeconds(37) });

        var decision = await client.RouteAsync(Chat());

        Assert.Equal("ep-a", decision.EndpointId);
        Assert.Equal(["ep-b", "ep-c"], decision.Fallbacks);
        var seen = Assert.Single(node.Routing.Routes);
        Assert.Equal("customer_chat", seen.Request.WorkloadClass);
        // The deadline travels as grpc-timeout: the node sees at most the 37 s the client gave (and far more than none).
        Assert.InRange(seen.RemainingOnArrival, TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(37));
    }

    [Fact]
    public async Task An_explicit_deadline_reaches_the_node()
    {
        await using var node = await RoutingNode.StartAsync();
        using var client = new ControlPlaneClient(node.Address);
        var deadline = DateTime.UtcNow.AddHours(1);

        await client.RouteAsync(Chat(), deadline);

        var seen = Assert.Single(node.Routing.Routes);
        Assert.InRange(seen.Deadline, deadline.AddMinutes(-5), deadline.AddSeconds(1));
    }

    [Fact]
    public async Task Reports_carry_the_report_deadline()
    {
        await using var node = await RoutingNode.StartAsync();
        using var client = new ControlPlaneClient(node.Address, new ControlPlaneClientOptions { ReportTimeout = TimeSpan.FromSeconds(41) });

        await client.ReportAsync(new Outcome { EndpointId = "ep-a", Status = OutcomeStatus.Success });
        await client.ReportBatchAsync([new Outcome { EndpointId = "ep-a", Status = OutcomeStatus.Success }]);

        Assert.InRange(Assert.Single(node.Routing.Reports).RemainingOnArrival, TimeSpan.FromSeconds(35), TimeSpan.FromSeconds(41));
        Assert.InRange(Assert.Single(node.Routing.Batches).RemainingOnArrival, TimeSpan.FromSeconds(35), TimeSpan.FromSeconds(41));
    }

    [Fact]
    public async Task A_route_that_outlives_its_deadline_ends_DEADLINE_EXCEEDED_and_the_node_is_cancelled()
    {
        await using var node = await RoutingNode.StartAsync();
        var nodeCancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        node.Routing.RouteAnswers.Enqueue(async (_, context) =>
        {
            await using (context.CancellationToken.Register(() => nodeCancelled.TrySetResult()))
            {
                await Task.Delay(Timeout.Infinite, context.CancellationToken);
            }

            throw new InvalidOperationException("unreachable");
        });
        using var client = new ControlPlaneClient(node.Address, new ControlPlaneClientOptions { RouteTimeout = TimeSpan.FromMilliseconds(100) });

        var error = await Assert.ThrowsAsync<RpcException>(() => client.RouteAsync(Chat()));

        Assert.Equal(StatusCode.DeadlineExceeded, error.StatusCode);
        await nodeCancelled.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Single(node.Routing.Routes); // DEADLINE_EXCEEDED is not retried
    }

    [Fact]
    public async Task Route_retries_UNAVAILABLE_and_tells_the_node_which_attempt_it_is()
    {
        await using var node = await RoutingNode.StartAsync();
        node.Routing.RouteAnswers.Enqueue(ScriptedRouting.Fail<RouteRequest, RouteDecision>(StatusCode.Unavailable));
        node.Routing.RouteAnswers.Enqueue(ScriptedRouting.Fail<RouteRequest, RouteDecision>(StatusCode.Unavailable));
        using var client = new ControlPlaneClient(node.Address, new ControlPlaneClientOptions { RouteMaxAttempts = 3, RouteInitialBackoff = TimeSpan.FromMilliseconds(1), RouteMaxBackoff = TimeSpan.FromMilliseconds(5) });

        var decision = await client.RouteAsync(Chat());

        Assert.Equal("ep-a", decision.EndpointId);
        var attempts = node.Routing.Routes.ToArray();
        Assert.Equal(3, attempts.Length);
        Assert.Null(attempts[0].Headers.Get("grpc-previous-rpc-attempts"));
        Assert.Equal("2", attempts[2].Headers.GetValue("grpc-previous-rpc-attempts"));
    }

    [Fact]
    public async Task Route_gives_up_after_its_attempts_with_UNAVAILABLE()
    {
        await using var node = await RoutingNode.StartAsync();
        node.Routing.DefaultRoute = ScriptedRouting.Fail<RouteRequest, RouteDecision>(StatusCode.Unavailable, "node draining");
        using var client = new ControlPlaneClient(node.Address, new ControlPlaneClientOptions { RouteMaxAttempts = 2, RouteInitialBackoff = TimeSpan.FromMilliseconds(1), RouteMaxBackoff = TimeSpan.FromMilliseconds(5) });

        var error = await Assert.ThrowsAsync<RpcException>(() => client.RouteAsync(Chat()));

        Assert.Equal(StatusCode.Unavailable, error.StatusCode);
        Assert.Equal("node draining", error.Status.Detail);
        Assert.Equal(2, node.Routing.Routes.Count);
    }

    [Fact]
    public async Task Route_with_retries_off_makes_one_attempt()
    {
        await using var node = await RoutingNode.StartAsync();
        node.Routing.DefaultRoute = ScriptedRouting.Fail<RouteRequest, RouteDecision>(StatusCode.Unavailable);
        using var client = new ControlPlaneClient(node.Address, new ControlPlaneClientOptions { RouteMaxAttempts = 1 });

        var error = await Assert.ThrowsAsync<RpcException>(() => client.RouteAsync(Chat()));

        Assert.Equal(StatusCode.Unavailable, error.StatusCode);
        Assert.Single(node.Routing.Routes);
    }

    [Theory]
    [InlineData(StatusCode.NotFound)]
    [InlineData(StatusCode.InvalidArgument)]
    [InlineData(StatusCode.Internal)]
    [InlineData(StatusCode.ResourceExhausted)]
    public async Task Other_route_errors_surface_at_once_as_RpcException_with_their_status(StatusCode code)
    {
        await using var node = await RoutingNode.StartAsync();
        node.Routing.RouteAnswers.Enqueue(ScriptedRouting.Fail<RouteRequest, RouteDecision>(code, "unknown workload class 'x'"));
        using var client = new ControlPlaneClient(node.Address);

        var error = await Assert.ThrowsAsync<RpcException>(() => client.RouteAsync(Chat()));

        Assert.Equal(code, error.StatusCode);
        Assert.Equal("unknown workload class 'x'", error.Status.Detail);
        Assert.Single(node.Routing.Routes);
    }

    [Fact]
    public async Task Reporting_is_never_retried_even_on_UNAVAILABLE()
    {
        await using var node = await RoutingNode.StartAsync();
        node.Routing.ReportAnswers.Enqueue(ScriptedRouting.Fail<Outcome, OutcomeAck>(StatusCode.Unavailable));
        node.Routing.BatchAnswers.Enqueue(ScriptedRouting.Fail<IReadOnlyList<Outcome>, OutcomeAck>(StatusCode.Unavailable));
        using var client = new ControlPlaneClient(node.Address, new ControlPlaneClientOptions { RouteMaxAttempts = 5 });
        var outcome = new Outcome { EndpointId = "ep-a", Status = OutcomeStatus.Success };

        var single = await Assert.ThrowsAsync<RpcException>(() => client.ReportAsync(outcome));
        var batch = await Assert.ThrowsAsync<RpcException>(() => client.ReportBatchAsync([outcome, outcome]));

        Assert.Equal(StatusCode.Unavailable, single.StatusCode);
        Assert.Equal(StatusCode.Unavailable, batch.StatusCode);
        Assert.Single(node.Routing.Reports);
        Assert.Single(node.Routing.Batches);
    }

    [Fact]
    public async Task A_batch_goes_on_one_stream_and_the_ack_counts_it()
    {
        await using var node = await RoutingNode.StartAsync();
        using var client = new ControlPlaneClient(node.Address);
        Outcome[] outcomes = [.. Enumerable.Range(0, 7).Select(i => new Outcome { EndpointId = $"ep-{i}", Status = i == 3 ? OutcomeStatus.Unspecified : OutcomeStatus.Success })];

        var ack = await client.ReportBatchAsync(outcomes);

        Assert.Equal(6, ack.Accepted);
        Assert.Equal(1, ack.Rejected);
        Assert.Equal(outcomes.Select(o => o.EndpointId), Assert.Single(node.Routing.Batches).Request.Select(o => o.EndpointId));
    }

    [Fact]
    public async Task A_client_over_a_shared_channel_works_and_leaves_the_channel_open()
    {
        await using var node = await RoutingNode.StartAsync();
        using var channel = ControlPlaneClient.CreateChannel(node.Address);
        using (var first = new ControlPlaneClient(channel))
        {
            await first.RouteAsync(Chat());
        }

        using var second = new ControlPlaneClient(channel);
        await second.RouteAsync(Chat());
        Assert.Equal(2, node.Routing.Routes.Count);
    }

    [Fact]
    public async Task An_unreachable_node_is_UNAVAILABLE()
    {
        Uri address;
        await using (var node = await RoutingNode.StartAsync())
        {
            address = node.Address;
        }

        using var client = new ControlPlaneClient(address, new ControlPlaneClientOptions { RouteMaxAttempts = 1 });
        var error = await Assert.ThrowsAsync<RpcException>(() => client.RouteAsync(Chat()));
        Assert.Equal(StatusCode.Unavailable, error.StatusCode);
    }

    [Fact]
    public void Options_outside_their_bounds_are_refused_by_name()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new ControlPlaneClient(new Uri("http://127.0.0.1:1"), new ControlPlaneClientOptions { RouteMaxAttempts = 6 }));
        Assert.Equal(nameof(ControlPlaneClientOptions.RouteMaxAttempts), error.ParamName);
        error = Assert.Throws<ArgumentOutOfRangeException>(() => new ControlPlaneClientOptions { RouteInitialBackoff = TimeSpan.FromSeconds(1), RouteMaxBackoff = TimeSpan.FromMilliseconds(10) }.Validate());
        Assert.Equal(nameof(ControlPlaneClientOptions.RouteMaxBackoff), error.ParamName);
    }
}
