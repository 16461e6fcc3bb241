using ControlPlane.Client.Tests.Support;
using ControlPlane.Contracts.V1;
using Grpc.Core;
using Microsoft.Extensions.Time.Testing;
using Polly.Timeout;

namespace ControlPlane.Client.Tests;

/// <summary><see cref="RoutedExecutor"/>: the decision comes from a real node; provider calls are scripted; time is fake.</summary>
public sealed class RoutedExecutorTests
{
    private readonly TimerRecordingTimeProvider _time = new();

    private static RouteRequest Chat() => new() { WorkloadClass = "customer_chat", EstimatedInputTokens = 1000, MaxOutputTokens = 500 };

    [Fact]
    public async Task A_failed_primary_moves_to_the_next_candidate_and_every_attempt_is_reported()
    {
        await using var node = await RoutingNode.StartAsync();
        using var client = new ControlPlaneClient(node.Address);
        var reporter = new OutcomeReporter(client, time: _time);
        var executor = new RoutedExecutor(client, reporter, _time);
        var tried = new List<string>();

        var run = executor.ExecuteAsync(Chat(), (target, _) =>
        {
            tried.Add(target.EndpointId);
            return target.Attempt == 0
                ? throw new ProviderCallException(OutcomeStatus.RateLimited, 429, TimeSpan.FromSeconds(7))
                : ValueTask.FromResult(new ProviderResult<string>("from " + target.EndpointId, 900, 120, 42));
        });
        // The 429's Retry-After is honoured before the next attempt.
        await Eventually.TrueAsync(() => _time.Timers.Contains(TimeSpan.FromSeconds(7)), "the executor waits the Retry-After");
        _time.Advance(TimeSpan.FromSeconds(7));
        var answer = await run.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal("from ep-b", answer);
        Assert.Equal(["ep-a", "ep-b"], tried);
        await reporter.DisposeAsync();
        Assert.Equal(2, reporter.Sent);
        var outcomes = node.Routing.AllOutcomes;
        Assert.Equal(2, outcomes.Count);
        Assert.Equal(("d-ep-a", "ep-a", OutcomeStatus.RateLimited, 429, 7_000L), (outcomes[0].DecisionId, outcomes[0].EndpointId, outcomes[0].Status, outcomes[0].HttpStatus, outcomes[0].RetryAfterMs));
        // The retry asked Route itself: its outcome carries its own decision.
        Assert.Equal(("d-ep-b", "ep-b", OutcomeStatus.Success, 900L, 120L, 42L), (outcomes[1].DecisionId, outcomes[1].EndpointId, outcomes[1].Status, outcomes[1].InputTokens, outcomes[1].OutputTokens, outcomes[1].TtftMs));
        Assert.All(outcomes, o => Assert.Equal("customer_chat", o.WorkloadClass));
    }

    [Fact]
    public async Task An_attempt_that_outlives_the_decision_timeout_is_cancelled_reported_as_timeout_and_the_chain_moves_on()
    {
        await using var node = await RoutingNode.StartAsync();
        node.Routing.DefaultRoute = (request, _) =>
        {
            var decision = ScriptedRouting.Chain(request, "ep-a", "ep-b");
            decision.TimeoutMs = 250;
            return Task.FromResult(decision);
        };
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

    [Fact]
    public async Task Every_attempt_asks_Route_with_its_attempt_number_and_the_failed_endpoints_excluded()
    {
        await using var node = await RoutingNode.StartAsync();
        using var client = new ControlPlaneClient(node.Address);
        var reporter = new OutcomeReporter(client, time: _time);
        var executor = new RoutedExecutor(client, reporter, _time, new RoutedExecutorOptions { MaxAttempts = 3 });
        var tried = new List<RouteTarget>();

        var answer = await executor.ExecuteAsync(Chat(), (target, _) =>
        {
            tried.Add(target);
            return target.Attempt < 2
                ? throw new ProviderCallException(OutcomeStatus.ConnectionError)
                : ValueTask.FromResult(new ProviderResult<string>("from " + target.EndpointId, 1, 1));
        }).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal("from ep-c", answer);
        var routes = node.Routing.Routes.Select(r => r.Request).ToList();
        Assert.Equal([0, 1, 2], routes.Select(r => r.Attempt));
        Assert.Equal([[], ["ep-a"], ["ep-a", "ep-b"]], routes.Select(r => r.ExcludeEndpointIds.ToArray()));
        // One request: the SDK gives the attempts one request id when the caller gave none.
        Assert.Single(routes.Select(r => r.RequestId).Distinct());
        Assert.NotEqual("", routes[0].RequestId);
        // Each attempt runs under its own decision (its reason, its quota), and reports under it.
        Assert.Equal(["d-ep-a", "d-ep-b", "d-ep-c"], tried.Select(t => t.Decision.DecisionId));
        await reporter.DisposeAsync();
        Assert.Equal(["d-ep-a", "d-ep-b", "d-ep-c"], node.Routing.AllOutcomes.Select(o => o.DecisionId));
    }

    [Fact]
    public async Task A_retry_the_node_refuses_ends_the_walk_with_the_last_failure_and_no_further_provider_call()
    {
        await using var node = await RoutingNode.StartAsync();
        node.Routing.RouteAnswers.Enqueue((request, _) => Task.FromResult(ScriptedRouting.Chain(request, "ep-a", "ep-b")));
        node.Routing.DefaultRoute = (_, _) => Task.FromResult(new RouteDecision { DecisionId = "d-refused", RouteReason = "retry_budget_exhausted" });
        using var client = new ControlPlaneClient(node.Address);
        await using var reporter = new OutcomeReporter(client, time: _time);
        var executor = new RoutedExecutor(client, reporter, _time);
        var calls = 0;

        var failure = await Assert.ThrowsAsync<ProviderCallException>(() => executor.ExecuteAsync<string>(Chat(), (_, _) =>
        {
            calls++;
            throw new ProviderCallException(OutcomeStatus.ConnectionError);
        }).WaitAsync(TimeSpan.FromSeconds(30)));

        Assert.Equal(OutcomeStatus.ConnectionError, failure.Status);
        Assert.Equal(1, calls);
        Assert.Equal(2, node.Routing.Routes.Count);
    }

    [Fact]
    public async Task A_request_without_a_deadline_tells_the_node_so_and_its_route_call_is_still_bounded()
    {
        await using var node = await RoutingNode.StartAsync();
        using var client = new ControlPlaneClient(node.Address);
        await using var reporter = new OutcomeReporter(client, time: _time);
        var executor = new RoutedExecutor(client, reporter, _time);

        Assert.Equal("from ep-a", await executor.ExecuteAsync(Chat(), (target, _) =>
            ValueTask.FromResult(new ProviderResult<string>("from " + target.EndpointId, 1, 1))).WaitAsync(TimeSpan.FromSeconds(30)));

        // deadline_ms -1: the Route call's grpc-timeout (the client's 2 s Route timeout) is no deadline for the upstream
        // call, so the node does not cap the decision's timeout by it (routing.proto). The call itself stays bounded.
        var route = Assert.Single(node.Routing.Routes);
        Assert.Equal(-1, route.Request.DeadlineMs);
        Assert.InRange(route.RemainingOnArrival, TimeSpan.FromMilliseconds(1), new ControlPlaneClientOptions().RouteTimeout);
    }

    [Fact]
    public async Task Each_attempt_gets_the_remaining_deadline_not_a_fresh_one()
    {
        await using var node = await RoutingNode.StartAsync();
        using var client = new ControlPlaneClient(node.Address);
        await using var reporter = new OutcomeReporter(client, time: _time);
        var executor = new RoutedExecutor(client, reporter, _time);
        var request = Chat();
        request.DeadlineMs = 5_000;
        var attemptStarted = new SemaphoreSlim(0);

        var run = executor.ExecuteAsync(request, async (target, token) =>
        {
            attemptStarted.Release();
            if (target.Attempt == 0)
            {
                await Task.Delay(Timeout.Infinite, token);
            }

            return new ProviderResult<string>("from " + target.EndpointId, 1, 1);
        });
        Assert.True(await attemptStarted.WaitAsync(TimeSpan.FromSeconds(30)));
        _time.Advance(TimeSpan.FromMilliseconds(1_000)); // the first decision's 1 s timeout

        Assert.Equal("from ep-b", await run.WaitAsync(TimeSpan.FromSeconds(30)));
        var routes = node.Routing.Routes.ToList();
        Assert.Equal(2, routes.Count);
        Assert.Equal(5_000, routes[0].Request.DeadlineMs);
        // 1 s of the caller's 5 s went into the first attempt: the retry gets the 4 s left, as deadline_ms and as the
        // call's own deadline (grpc-timeout, measured by the real clock: at most the 4 s).
        Assert.Equal(4_000, routes[1].Request.DeadlineMs);
        Assert.InRange(routes[1].RemainingOnArrival, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(4));
    }

    [Fact]
    public async Task An_attempt_never_runs_past_the_callers_deadline_even_when_the_decision_allows_longer()
    {
        await using var node = await RoutingNode.StartAsync();
        using var client = new ControlPlaneClient(node.Address);
        await using var reporter = new OutcomeReporter(client, time: _time);
        var executor = new RoutedExecutor(client, reporter, _time);
        node.Routing.DefaultRoute = (request, _) =>
        {
            var decision = ScriptedRouting.Chain(request, "ep-a", "ep-b");
            decision.TimeoutMs = 60_000;
            return Task.FromResult(decision);
        };
        var request = Chat();
        request.DeadlineMs = 20_000; // shorter than the decision's 60 s timeout
        var attemptStarted = new SemaphoreSlim(0);

        var run = executor.ExecuteAsync<string>(request, async (_, token) =>
        {
            attemptStarted.Release();
            await Task.Delay(Timeout.Infinite, token);
            return new ProviderResult<string>("never", 0, 0);
        });
        Assert.True(await attemptStarted.WaitAsync(TimeSpan.FromSeconds(30)));
        _time.Advance(TimeSpan.FromMilliseconds(19_999));
        await Task.Delay(50);
        Assert.False(run.IsCompleted);
        _time.Advance(TimeSpan.FromMilliseconds(1));

        await Assert.ThrowsAsync<TimeoutRejectedException>(() => run.WaitAsync(TimeSpan.FromSeconds(30)));
        // The deadline is spent: no retry was routed.
        Assert.Single(node.Routing.Routes);
    }

    [Fact]
    public async Task A_429_backs_off_for_its_Retry_After_before_the_next_attempt_is_routed()
    {
        await using var node = await RoutingNode.StartAsync();
        using var client = new ControlPlaneClient(node.Address);
        await using var reporter = new OutcomeReporter(client, time: _time);
        var executor = new RoutedExecutor(client, reporter, _time, new RoutedExecutorOptions { BaseBackoff = TimeSpan.FromMilliseconds(100) });

        var run = executor.ExecuteAsync(Chat(), (target, _) => target.Attempt == 0
            ? throw new ProviderCallException(OutcomeStatus.RateLimited, 429, TimeSpan.FromMilliseconds(1_500))
            : ValueTask.FromResult(new ProviderResult<string>("from " + target.EndpointId, 1, 1)));
        await Eventually.TrueAsync(() => _time.Timers.Contains(TimeSpan.FromMilliseconds(1_500)), "the executor waits the Retry-After");
        _time.Advance(TimeSpan.FromMilliseconds(1_499));
        await Task.Delay(50);
        Assert.Single(node.Routing.Routes);
        _time.Advance(TimeSpan.FromMilliseconds(1));

        Assert.Equal("from ep-b", await run.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(2, node.Routing.Routes.Count);
    }

    [Fact]
    public async Task A_Retry_After_is_capped_and_a_wait_past_the_deadline_is_not_made()
    {
        await using var node = await RoutingNode.StartAsync();
        using var client = new ControlPlaneClient(node.Address);
        await using var reporter = new OutcomeReporter(client, time: _time);
        var options = new RoutedExecutorOptions { MaxRetryAfter = TimeSpan.FromSeconds(25) };
        var executor = new RoutedExecutor(client, reporter, _time, options);

        // Capped: a provider asking for 10 minutes gets MaxRetryAfter.
        Assert.Equal(TimeSpan.FromSeconds(25), executor.Backoff(0, TimeSpan.FromMinutes(10)));

        var request = Chat();
        request.DeadlineMs = 20_000;
        var failure = await Assert.ThrowsAsync<ProviderCallException>(() => executor.ExecuteAsync<string>(request,
            (_, _) => throw new ProviderCallException(OutcomeStatus.RateLimited, 429, TimeSpan.FromMinutes(10))).WaitAsync(TimeSpan.FromSeconds(30)));

        // The capped 25 s wait would end past the 20 s deadline: the failure is thrown at once, no retry is routed.
        Assert.Equal(OutcomeStatus.RateLimited, failure.Status);
        Assert.Single(node.Routing.Routes);
    }

    [Fact]
    public void A_5xx_backoff_is_jittered_between_half_and_all_of_the_exponential_value_and_capped()
    {
        var executor = new RoutedExecutor(new ControlPlaneClient(new Uri("http://127.0.0.1:1")), null!, _time,
            new RoutedExecutorOptions { BaseBackoff = TimeSpan.FromMilliseconds(100), MaxBackoff = TimeSpan.FromMilliseconds(300) });
        var waits = Enumerable.Range(0, 200).Select(_ => executor.Backoff(1, null)).ToList();

        Assert.All(waits, w => Assert.InRange(w, TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(200)));
        Assert.True(waits.Distinct().Count() > 1, "jittered");
        Assert.All(Enumerable.Range(0, 50).Select(_ => executor.Backoff(10, null)),
            w => Assert.InRange(w, TimeSpan.FromMilliseconds(150), TimeSpan.FromMilliseconds(300)));
    }

    [Fact]
    public async Task A_server_error_backs_off_at_least_half_the_base_before_the_retry_is_routed()
    {
        await using var node = await RoutingNode.StartAsync();
        using var client = new ControlPlaneClient(node.Address);
        await using var reporter = new OutcomeReporter(client, time: _time);
        var executor = new RoutedExecutor(client, reporter, _time, new RoutedExecutorOptions { BaseBackoff = TimeSpan.FromSeconds(2) });

        var run = executor.ExecuteAsync(Chat(), (target, _) => target.Attempt == 0
            ? throw new ProviderCallException(OutcomeStatus.ServerError, 503)
            : ValueTask.FromResult(new ProviderResult<string>("from " + target.EndpointId, 1, 1)));
        await Eventually.TrueAsync(() => _time.Timers.Any(t => t >= TimeSpan.FromSeconds(1) && t <= TimeSpan.FromSeconds(2)), "the executor backs off");
        _time.Advance(TimeSpan.FromMilliseconds(999));
        await Task.Delay(50);
        Assert.Single(node.Routing.Routes);
        _time.Advance(TimeSpan.FromSeconds(1));

        Assert.Equal("from ep-b", await run.WaitAsync(TimeSpan.FromSeconds(30)));
    }
}
