using ControlPlane.Client.Tests.Support;
using ControlPlane.Contracts.V1;

namespace ControlPlane.Client.Tests;

/// <summary>What the reference proxy needs from <see cref="RoutedExecutor"/>: outcomes that carry the served model, the
/// grader's verdict, the request id and the attempt; stream failures after the first byte (Final) that end the walk;
/// queue_only holds waited out within the deadline.</summary>
public sealed class RoutedExecutorProxySupportTests
{
    private readonly TimerRecordingTimeProvider _time = new();

    private static RouteRequest Chat() => new() { WorkloadClass = "customer_chat", EstimatedInputTokens = 1000, MaxOutputTokens = 500, RequestId = "req-1" };

    [Fact]
    public async Task Outcomes_carry_the_served_model_the_verdict_the_request_id_and_the_attempt()
    {
        await using var node = await RoutingNode.StartAsync();
        using var client = new ControlPlaneClient(node.Address);
        // The system clock: the backoff between the attempts is a millisecond.
        var reporter = new OutcomeReporter(client);
        var executor = new RoutedExecutor(client, reporter, options: new RoutedExecutorOptions { BaseBackoff = TimeSpan.FromMilliseconds(1), MaxBackoff = TimeSpan.FromMilliseconds(1) });

        var answer = await executor.ExecuteAsync(Chat(), (target, _) => target.Attempt == 0
            ? throw new ProviderCallException(OutcomeStatus.ServerError, 500)
            : ValueTask.FromResult(new ProviderResult<string>("ok", 10, 20, 5) { ModelVersion = "gpt-4o-2024-11-20", Quality = QualityVerdict.Fail }));
        Assert.Equal("ok", answer);
        await reporter.DisposeAsync();

        var outcomes = node.Routing.AllOutcomes;
        Assert.Equal(2, outcomes.Count);
        Assert.Equal(("req-1", 0, "", (Quality?)null), (outcomes[0].RequestId, outcomes[0].Attempt, outcomes[0].ReturnedModelVersion, outcomes[0].Quality));
        Assert.Equal(("req-1", 1, "gpt-4o-2024-11-20", QualityVerdict.Fail),
            (outcomes[1].RequestId, outcomes[1].Attempt, outcomes[1].ReturnedModelVersion, outcomes[1].Quality.Verdict));
    }

    [Fact]
    public async Task A_final_failure_is_reported_and_thrown_without_trying_another_endpoint()
    {
        await using var node = await RoutingNode.StartAsync();
        using var client = new ControlPlaneClient(node.Address);
        var reporter = new OutcomeReporter(client, time: _time);
        var executor = new RoutedExecutor(client, reporter, _time);
        var calls = 0;

        var failure = await Assert.ThrowsAsync<ProviderCallException>(() => executor.ExecuteAsync<string>(Chat(), (_, _) =>
        {
            calls++;
            throw new ProviderCallException(OutcomeStatus.ConnectionError) { Final = true };
        }));

        Assert.True(failure.Final);
        Assert.Equal(1, calls);
        await reporter.DisposeAsync();
        Assert.Equal(OutcomeStatus.ConnectionError, Assert.Single(node.Routing.AllOutcomes).Status);
    }

    [Fact]
    public async Task A_held_first_attempt_waits_retry_after_and_asks_again_when_the_executor_waits_on_holds()
    {
        await using var node = await RoutingNode.StartAsync();
        node.Routing.RouteAnswers.Enqueue((_, _) => Task.FromResult(new RouteDecision { DecisionId = "d-held", RouteReason = "queue_only_hold", RetryAfterMs = 800 }));
        using var client = new ControlPlaneClient(node.Address);
        await using var reporter = new OutcomeReporter(client, time: _time);
        var executor = new RoutedExecutor(client, reporter, _time, new RoutedExecutorOptions { WaitOnQueueHold = true });

        var run = executor.ExecuteAsync(Chat(), (target, _) => ValueTask.FromResult(new ProviderResult<string>("from " + target.EndpointId, 1, 1)));
        await Eventually.TrueAsync(() => _time.Timers.Contains(TimeSpan.FromMilliseconds(800)), "the executor waits the hold's retry_after_ms");
        Assert.False(run.IsCompleted);
        _time.Advance(TimeSpan.FromMilliseconds(800));

        Assert.Equal("from ep-a", await run.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(2, node.Routing.Routes.Count);
        Assert.All(node.Routing.Routes, r => Assert.Equal(0, r.Request.Attempt));
    }

    [Fact]
    public async Task A_hold_longer_than_the_deadline_is_NoRouteException_at_once()
    {
        await using var node = await RoutingNode.StartAsync();
        node.Routing.DefaultRoute = (_, _) => Task.FromResult(new RouteDecision { DecisionId = "d-held", RouteReason = "queue_only_hold", RetryAfterMs = 5_000 });
        using var client = new ControlPlaneClient(node.Address);
        await using var reporter = new OutcomeReporter(client, time: _time);
        var executor = new RoutedExecutor(client, reporter, _time, new RoutedExecutorOptions { WaitOnQueueHold = true });
        var request = Chat();
        request.DeadlineMs = 1_000;

        var held = await Assert.ThrowsAsync<NoRouteException>(() => executor.ExecuteAsync<string>(request, (_, _) => throw new InvalidOperationException("must not be called")))
            .WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(5_000, held.Decision.RetryAfterMs);
        Assert.Single(node.Routing.Routes);
    }
}
