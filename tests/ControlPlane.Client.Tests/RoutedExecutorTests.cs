using ControlPlane.Client.Tests.Support;
using ControlPlane.Contracts.V1;
using Grpc.Core;
using Microsoft.Extensions.Time.Testing;
using Polly.Timeout;

namespace ControlPlane.Client.Tests;

/// <summary><see cref="RoutedExecutor"/>: the decision comes from a real node; provider calls are scripted; time is fake.</summary>
public sealed class RoutedExecutorTests
{
    private readonly FakeTimeProvider _time = new();

    private static RouteRequest Chat() => new() { WorkloadClass = "customer_chat", EstimatedInputTokens = 1000, MaxOutputTokens = 500 };

    [Fact]
    public async Task A_failed_primary_moves_to_the_next_candidate_and_every_attempt_is_reported()
    {
        await using var node = await RoutingNode.StartAsync();
        using var client = new ControlPlaneClient(node.Address);
        var reporter = new OutcomeReporter(client, time: _time);
        var executor = new RoutedExecutor(client, reporter, _time);
        var tried = new List<string>();

        var answer = await executor.ExecuteAsync(Chat(), (target, _) =>
        {
            tried.Add(target.EndpointId);
            return target.Attempt == 0
                ? throw new ProviderCallException(OutcomeStatus.RateLimited, 429, TimeSpan.FromSeconds(7))
                : ValueTask.FromResult(new ProviderResult<string>("from " + target.EndpointId, 900, 120, 42));
        });

        Assert.Equal("from ep-b", answer);
        Assert.Equal(["ep-a", "ep-b"], tried);
        await reporter.DisposeAsync();
        Assert.Equal(2, reporter.Sent);
        var outcomes = node.Routing.AllOutcomes;
        Assert.Equal(2, outcomes.Count);
        Assert.Equal(("d-ep-a", "ep-a", OutcomeStatus.RateLimited, 429, 7_000L), (outcomes[0].DecisionId, outcomes[0].EndpointId, outcomes[0].Status, outcomes[0].HttpStatus, outcomes[0].RetryAfterMs));
        Assert.Equal(("", "ep-b", OutcomeStatus.Success, 900L, 120L, 42L), (outcomes[1].DecisionId, outcomes[1].EndpointId, outcomes[1].Status, outcomes[1].InputTokens, outcomes[1].OutputTokens, outcomes[1].TtftMs));
        Assert.All(outcomes, o => Assert.Equal("customer_chat", o.WorkloadClass));
    }

    [Fact]
    public async Task An_attempt_that_outlives_the_decision_timeout_is_cancelled_reported_as_timeout_and_the_chain_moves_on()
    {
        await using var node = await RoutingNode.StartAsync();
        var decision = ScriptedRouting.Decision("ep-a", "ep-b");
        decision.TimeoutMs = 250;
        node.Routing.DefaultRoute = (_, _) => Task.FromResult(decision);
        using var client = new ControlPlaneClient(node.Address);
        var reporter = new OutcomeReporter(client, time: _time);
        var executor = new RoutedExecutor(client, reporter, _time);
        var primaryWaiting = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var primaryCancelled = false;

        var run = executor.ExecuteAsync(Chat(), async (target, token) =>
        {
            if (target.Attempt == 0)
            {
                primaryWaiting.SetResult();
                try
                {
                    await Task.Delay(Timeout.Infinite, token);
                }
                catch (OperationCanceledException)
                {
                    primaryCancelled = true;
                    throw;
                }
            }

            return new ProviderResult<string>("from " + target.EndpointId, 1, 1);
        });
        await primaryWaiting.Task.WaitAsync(TimeSpan.FromSeconds(30));
        _time.Advance(TimeSpan.FromMilliseconds(249));
        Assert.False(run.IsCompleted);
        _time.Advance(TimeSpan.FromMilliseconds(1));

        Assert.Equal("from ep-b", await run.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.True(primaryCancelled);
        await reporter.DisposeAsync();
        var outcomes = node.Routing.AllOutcomes;
        Assert.Equal([OutcomeStatus.Timeout, OutcomeStatus.Success], outcomes.Select(o => o.Status));
        Assert.Equal(250, outcomes[0].LatencyMs); // measured on the injected clock
        Assert.Equal(0, outcomes[1].LatencyMs);
    }

    [Fact]
    public async Task When_every_candidate_times_out_the_timeout_is_thrown_after_the_whole_chain()
    {
        await using var node = await RoutingNode.StartAsync();
        using var client = new ControlPlaneClient(node.Address);
        await using var reporter = new OutcomeReporter(client, time: _time);
        var executor = new RoutedExecutor(client, reporter, _time);
        var started = 0;
        var waiting = new SemaphoreSlim(0);

        var run = executor.ExecuteAsync<string>(Chat(), async (_, token) =>
        {
            Interlocked.Increment(ref started);
            waiting.Release();
            await Task.Delay(Timeout.Infinite, token);
            return new ProviderResult<string>("never", 0, 0);
        });
        for (var attempt = 0; attempt < 3; attempt++)
        {
            Assert.True(await waiting.WaitAsync(TimeSpan.FromSeconds(30)));
            _time.Advance(TimeSpan.FromMilliseconds(1_000));
        }

        await Assert.ThrowsAsync<TimeoutRejectedException>(() => run.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(3, started);
    }

    [Fact]
    public async Task A_caller_fault_is_not_tried_elsewhere()
    {
        await using var node = await RoutingNode.StartAsync();
        using var client = new ControlPlaneClient(node.Address);
        await using var reporter = new OutcomeReporter(client, time: _time);
        var executor = new RoutedExecutor(client, reporter, _time);
        var calls = 0;

        var refused = await Assert.ThrowsAsync<ProviderCallException>(() => executor.ExecuteAsync<string>(Chat(), (_, _) =>
        {
            calls++;
            throw new ProviderCallException(OutcomeStatus.ContentFilter, 400);
        }));

        Assert.Equal(1, calls);
        Assert.Equal(OutcomeStatus.ContentFilter, refused.Status);
    }

    [Fact]
    public async Task A_decision_without_an_endpoint_is_NoRouteException_and_the_provider_is_not_called()
    {
        await using var node = await RoutingNode.StartAsync();
        node.Routing.DefaultRoute = (_, _) => Task.FromResult(new RouteDecision { DecisionId = "d-held", RouteReason = "queue_only_hold" });
        using var client = new ControlPlaneClient(node.Address);
        await using var reporter = new OutcomeReporter(client, time: _time);
        var executor = new RoutedExecutor(client, reporter, _time);

        var held = await Assert.ThrowsAsync<NoRouteException>(() => executor.ExecuteAsync<string>(Chat(), (_, _) => throw new InvalidOperationException("must not be called")));

        Assert.Equal("queue_only_hold", held.Decision.RouteReason);
    }

    [Fact]
    public async Task A_route_failure_surfaces_as_RpcException_and_the_provider_is_not_called()
    {
        await using var node = await RoutingNode.StartAsync();
        node.Routing.DefaultRoute = ScriptedRouting.Fail<RouteRequest, RouteDecision>(StatusCode.NotFound, "unknown workload class");
        using var client = new ControlPlaneClient(node.Address);
        await using var reporter = new OutcomeReporter(client, time: _time);
        var executor = new RoutedExecutor(client, reporter, _time);

        var error = await Assert.ThrowsAsync<RpcException>(() => executor.ExecuteAsync<string>(Chat(), (_, _) => throw new InvalidOperationException("must not be called")));

        Assert.Equal(StatusCode.NotFound, error.StatusCode);
    }
}
