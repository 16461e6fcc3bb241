using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net;
using ControlPlane.Contracts.V1;
using ControlPlane.Fleet;
using ControlPlane.Server.Tests.EndToEnd;
using ControlPlane.Server.Tests.Support;
using ControlPlane.Service.DataPlane;
using Microsoft.Extensions.DependencyInjection;

namespace ControlPlane.Server.Tests.Grpc;

/// <summary>Queue-only classes hold a Route call while their primary is unavailable, over a real gRPC channel: the call
/// is answered with the primary as soon as it can take it, or with <c>queue_only_hold</c> and <c>retry_after_ms</c> when
/// the class's max wait or the caller's deadline (whichever is first) runs out; calls of a class are served first in,
/// first out (shown deterministically in the service tests, RoutingNodeHoldTests); a full line answers at once; a caller that cancels leaves the line and spends nothing. Before, every such
/// call was answered <c>queue_only_hold</c> at once, with no retry_after.</summary>
public sealed class QueueOnlyHoldTests
{
    private const string RoutePath = "/controlplane.v1.Routing/Route";

    // eu: limited (a lease wallet shows what Route spent); pace: unlimited, for a class whose budget leases one request
    // at a time (10 a minute, a 0.1 slice), so a line drains one call per lease renewal.
    private const string Fleet = """
        endpoints:
          - { id: eu, provider: vllm, model: llama, model_version: v1, region: eu, context_window: 128000, price_per_1k: { input: 0, output: 0 }, limits: { tpm: 1_000_000, rpm: 6_000 }, owner_team: t, on_call: t }
          - { id: us, provider: vllm, model: llama, model_version: v2, region: us, context_window: 128000, price_per_1k: { input: 0, output: 0 }, owner_team: t, on_call: t }
          - { id: pace, provider: vllm, model: llama, model_version: v3, region: us, context_window: 128000, price_per_1k: { input: 0, output: 0 }, owner_team: t, on_call: t }
        classes:
          - { name: customer_chat, owner: t, mode: auto_fallback, primary: [us], slo: { availability: 0.99 } }
          - { name: brief, owner: t, mode: queue_only, primary: [eu], queue: { max_wait_ms: 400 }, slo: { availability: 0.99 } }
          - { name: slow, owner: t, mode: queue_only, primary: [eu], queue: { max_wait_ms: 30_000, max_depth: 2 }, slo: { availability: 0.99 } }
          - { name: paced, owner: t, mode: queue_only, primary: [pace], budget: { requests_per_minute: 10 }, queue: { max_wait_ms: 30_000, max_depth: 10 }, slo: { availability: 0.99 } }
        """;

    [Fact]
    public async Task A_held_legal_draft_call_is_answered_with_the_primary_once_the_override_is_cleared_with_the_deadline_left_as_its_timeout()
    {
        await using var node = await ControlPlaneNode.StartInMemoryAsync();
        await ForceOpenAsync(node, "anthropic-sonnet-eu");
        var clock = Stopwatch.StartNew();

        var call = node.Routing.RouteAsync(Request("legal_draft"), deadline: DateTime.UtcNow.AddSeconds(5)).ResponseAsync;
        await WaitForHeldAsync(node, "legal_draft", 1);
        await Task.Delay(1_500);
        Assert.False(call.IsCompleted, "the call must still be held while the primary is forced open");
        await ClearAsync(node, "anthropic-sonnet-eu");
        var decision = await call;

        Assert.Equal(("anthropic-sonnet-eu", "primary"), (decision.EndpointId, decision.RouteReason));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"answered after {clock.Elapsed}, past the 5 s deadline");
        // The decision's timeout is the deadline left after the wait (at most 5 s - 1.5 s), never a fresh 5 s.
        Assert.InRange(decision.TimeoutMs, 1, 3_500);
        Assert.Equal(0, decision.RetryAfterMs);
        Assert.Equal(0, Held(node, "legal_draft"));
    }

    [Fact]
    public async Task After_a_wait_the_timeout_is_the_request_deadline_ms_left_too()
    {
        await using var node = await StartAsync();
        await ForceOpenAsync(node, "eu");

        var call = node.Routing.RouteAsync(Request("slow", deadlineMs: 5_000), deadline: DateTime.UtcNow.AddSeconds(30)).ResponseAsync;
        await WaitForHeldAsync(node, "slow", 1);
        await Task.Delay(1_500);
        await ClearAsync(node, "eu");
        var decision = await call;

        Assert.Equal("eu", decision.EndpointId);
        Assert.InRange(decision.TimeoutMs, 1, 3_500);
    }

    [Fact]
    public async Task The_wait_ends_at_the_class_max_wait_with_queue_only_hold_and_retry_after()
    {
        await using var node = await StartAsync();
        await ForceOpenAsync(node, "eu");
        var clock = Stopwatch.StartNew();

        var decision = await node.Routing.RouteAsync(Request("brief"), deadline: DateTime.UtcNow.AddSeconds(10));

        Assert.InRange(clock.Elapsed, TimeSpan.FromMilliseconds(350), TimeSpan.FromSeconds(5));
        Assert.Equal(("queue_only_hold", ""), (decision.RouteReason, decision.EndpointId));
        // The override has no expiry: come back after one max wait.
        Assert.Equal(400, decision.RetryAfterMs);
        Assert.Equal(0, Held(node, "brief"));
        Assert.Equal((0, 0), Spent(node, "eu"));
    }

    [Theory]
    [InlineData(2000, 0)]
    [InlineData(0, 2000)]
    public async Task The_wait_ends_at_the_callers_deadline_when_it_is_sooner_and_spends_nothing(int grpcTimeoutMs, long deadlineMs)
    {
        await using var node = await StartAsync();
        await ForceOpenAsync(node, "eu", ttlSeconds: 120);
        var clock = Stopwatch.StartNew();

        var headers = grpcTimeoutMs > 0 ? new[] { ("grpc-timeout", $"{grpcTimeoutMs}m") } : [];
        var response = await node.Raw.CallAsync(RoutePath, GrpcWire.Frame(Request("slow", deadlineMs)), headers);

        // Answered (not DEADLINE_EXCEEDED) shortly before the deadline, long before the class's 30 s max wait.
        Assert.Equal(StatusCode.OK, response.Status);
        var decision = response.Single(RouteDecision.Parser);
        // (held until the deadline less a quarter of it: 1,500 ms of the 2,000 ms; a quarter of a shorter deadline
        // left a loaded CI machine too little time to deliver the answer)
        Assert.InRange(clock.Elapsed, TimeSpan.FromMilliseconds(1_400), TimeSpan.FromSeconds(5));
        Assert.Equal(("queue_only_hold", ""), (decision.RouteReason, decision.EndpointId));
        // Until the override's expiry.
        Assert.InRange(decision.RetryAfterMs, 100_000, 120_000);

        // The primary coming back later serves no stale call: nothing was spent for the call that was answered.
        await ClearAsync(node, "eu");
        await Task.Delay(300);
        Assert.Equal((0, 0), Spent(node, "eu"));
        Assert.Equal("eu", (await node.Routing.RouteAsync(Request("slow"), deadline: DateTime.UtcNow.AddSeconds(10))).EndpointId);
        Assert.Equal(1, Spent(node, "eu").Requests);
    }

    [Fact]
    public async Task A_call_held_for_a_429_cooldown_is_served_when_the_cooldown_runs_out_and_a_hold_says_how_long_it_has_left()
    {
        await using var node = await StartAsync();
        var routed = await node.Routing.RouteAsync(Request("slow"), deadline: DateTime.UtcNow.AddSeconds(10));
        Assert.Equal("eu", routed.EndpointId);
        var cooling = Stopwatch.StartNew();
        await node.Routing.ReportOutcomeAsync(new Outcome
        {
            DecisionId = routed.DecisionId,
            RequestId = "q",
            EndpointId = "eu",
            WorkloadClass = "slow",
            Status = OutcomeStatus.RateLimited,
            HttpStatus = 429,
            LatencyMs = 20,
            RetryAfterMs = 2_000,
        });

        // Once the cooldown reached the node, a call with a short deadline is held, then told when the cooldown ends.
        RouteDecision hold;
        do
        {
            hold = await node.Routing.RouteAsync(Request("slow", deadlineMs: 100), deadline: DateTime.UtcNow.AddSeconds(10));
            Assert.True(cooling.Elapsed < TimeSpan.FromSeconds(1.5), "the 429 cooldown never reached the node's table");
        }
        while (hold.RouteReason != "queue_only_hold");

        Assert.InRange(hold.RetryAfterMs, 1, 2_000);

        // Nothing is pushed when a cooldown simply runs out: the periodic re-check serves the held call.
        var decision = await node.Routing.RouteAsync(Request("slow"), deadline: DateTime.UtcNow.AddSeconds(10));

        Assert.Equal(("eu", "primary"), (decision.EndpointId, decision.RouteReason));
        Assert.InRange(cooling.Elapsed, TimeSpan.FromSeconds(1.9), TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task Calls_held_for_quota_are_served_one_by_one_as_leases_arrive()
    {
        await using var node = await StartAsync();
        await ForceOpenAsync(node, "pace");
        var calls = new List<Task<RouteDecision>>();
        for (var i = 0; i < 5; i++)
        {
            calls.Add(node.Routing.RouteAsync(Request("paced"), deadline: DateTime.UtcNow.AddSeconds(30)).ResponseAsync);
            await WaitForHeldAsync(node, "paced", i + 1);
        }

        // The node holds a one-request lease: the line drains as renewals bring quota (first in, first out: the
        // order is shown on the node's own clock in RoutingNodeHoldTests; replies can overtake each other on the wire).
        await ClearAsync(node, "pace");
        var decisions = await Task.WhenAll(calls);

        Assert.All(decisions, d => Assert.Equal(("pace", "primary"), (d.EndpointId, d.RouteReason)));
        Assert.Equal(0, Held(node, "paced"));
    }

    [Fact]
    public async Task A_full_line_answers_at_once_with_queue_only_hold_and_retry_after()
    {
        await using var node = await StartAsync();
        await ForceOpenAsync(node, "eu");
        using var stop = new CancellationTokenSource();
        var held = new[]
        {
            node.Routing.RouteAsync(Request("slow"), deadline: DateTime.UtcNow.AddSeconds(30), cancellationToken: stop.Token).ResponseAsync,
            node.Routing.RouteAsync(Request("slow"), deadline: DateTime.UtcNow.AddSeconds(30), cancellationToken: stop.Token).ResponseAsync,
        };
        await WaitForHeldAsync(node, "slow", 2);
        var clock = Stopwatch.StartNew();

        var third = await node.Routing.RouteAsync(Request("slow"), deadline: DateTime.UtcNow.AddSeconds(30));

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"a call beyond max_depth waited {clock.Elapsed}");
        Assert.Equal(("queue_only_hold", ""), (third.RouteReason, third.EndpointId));
        Assert.Equal(30_000, third.RetryAfterMs);
        Assert.Equal(2, Held(node, "slow"));
        Assert.All(held, call => Assert.False(call.IsCompleted));

        await ClearAsync(node, "eu");
        Assert.All(await Task.WhenAll(held), d => Assert.Equal("eu", d.EndpointId));
    }

    [Fact]
    public async Task A_caller_that_cancels_leaves_the_line_at_once_and_spends_nothing()
    {
        await using var node = await StartAsync();
        await ForceOpenAsync(node, "eu");
        using var cancel = new CancellationTokenSource();
        var call = node.Routing.RouteAsync(Request("slow"), deadline: DateTime.UtcNow.AddSeconds(30), cancellationToken: cancel.Token).ResponseAsync;
        await WaitForHeldAsync(node, "slow", 1);

        await cancel.CancelAsync();

        var error = await Assert.ThrowsAsync<RpcException>(() => call);
        Assert.Equal(StatusCode.Cancelled, error.StatusCode);
        await WaitForHeldAsync(node, "slow", 0);
        await ClearAsync(node, "eu");
        await Task.Delay(300);
        Assert.Equal((0, 0), Spent(node, "eu"));
        // The measure is live: a call that is given the endpoint spends from the lease.
        Assert.Equal("eu", (await node.Routing.RouteAsync(Request("slow"), deadline: DateTime.UtcNow.AddSeconds(10))).EndpointId);
        Assert.Equal(1, Spent(node, "eu").Requests);
    }

    [Fact]
    public async Task A_node_that_stops_answers_its_held_calls_with_the_hold_at_once()
    {
        await using var node = await StartAsync();
        await ForceOpenAsync(node, "eu");
        var call = node.Routing.RouteAsync(Request("slow"), deadline: DateTime.UtcNow.AddSeconds(30)).ResponseAsync;
        await WaitForHeldAsync(node, "slow", 1);
        var clock = Stopwatch.StartNew();

        await Routing(node).StopAsync(CancellationToken.None);
        var decision = await call;

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"the held call was answered {clock.Elapsed} after the stop began");
        Assert.Equal(("queue_only_hold", "", 30_000L), (decision.RouteReason, decision.EndpointId, decision.RetryAfterMs));
        Assert.Equal(0, Held(node, "slow"));
    }

    [Fact]
    public async Task Queue_depth_is_a_gauge_per_class_and_the_wait_a_histogram_by_how_it_ended()
    {
        var depths = new ConcurrentDictionary<string, int>();
        var waits = new ConcurrentQueue<(string Class, string Result, double Ms)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == RoutingMetrics.MeterName && instrument.Name is "controlplane.queue.depth" or "controlplane.queue.wait")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<int>((_, value, tags, _) => depths[Tag(tags, "controlplane.workload_class")] = value);
        listener.SetMeasurementEventCallback<double>((_, value, tags, _) => waits.Enqueue((Tag(tags, "controlplane.workload_class"), Tag(tags, "controlplane.queue.result"), value * 1000)));
        listener.Start();
        await using var node = await StartAsync();
        await ForceOpenAsync(node, "eu");

        var call = node.Routing.RouteAsync(Request("slow"), deadline: DateTime.UtcNow.AddSeconds(30)).ResponseAsync;
        await WaitForHeldAsync(node, "slow", 1);
        listener.RecordObservableInstruments();
        Assert.Equal((1, 0), (depths["slow"], depths["brief"]));
        await Task.Delay(300);
        await ClearAsync(node, "eu");
        await call;
        var direct = await node.Routing.RouteAsync(Request("slow", deadlineMs: 200), deadline: DateTime.UtcNow.AddSeconds(30));
        Assert.Equal("eu", direct.EndpointId);
        await ForceOpenAsync(node, "eu");
        Assert.Equal("queue_only_hold", (await node.Routing.RouteAsync(Request("brief"), deadline: DateTime.UtcNow.AddSeconds(30))).RouteReason);

        listener.RecordObservableInstruments();
        Assert.Equal(0, depths["slow"]);
        var slow = Assert.Single(waits, w => w.Class == "slow");
        Assert.Equal("served", slow.Result);
        Assert.InRange(slow.Ms, 250, 10_000);
        var brief = Assert.Single(waits, w => w.Class == "brief");
        Assert.Equal("expired", brief.Result);
        Assert.InRange(brief.Ms, 350, 10_000);
    }

    /// <summary>Hostile input: a Route whose deadline is already over when the handler runs is DEADLINE_EXCEEDED and
    /// leaves the node's lease wallets exactly as they were.</summary>
    [Theory]
    [InlineData("200n")]
    [InlineData("1u")]
    public async Task A_route_whose_deadline_already_passed_spends_no_quota(string grpcTimeout)
    {
        await using var node = await StartAsync();
        var before = Spent(node, "eu");

        var response = await node.Raw.CallAsync(RoutePath, GrpcWire.Frame(Request("slow")), ("grpc-timeout", grpcTimeout));

        Assert.Equal(StatusCode.DeadlineExceeded, response.Status);
        Assert.Equal((0, 0), before);
        Assert.Equal(before, Spent(node, "eu"));
        Assert.Equal("eu", (await node.Routing.RouteAsync(Request("slow"), deadline: DateTime.UtcNow.AddSeconds(10))).EndpointId);
        Assert.Equal(1, Spent(node, "eu").Requests);
    }

    private static string Tag(ReadOnlySpan<KeyValuePair<string, object?>> tags, string name)
    {
        foreach (var tag in tags)
        {
            if (tag.Key == name)
            {
                return (string)tag.Value!;
            }
        }

        return "";
    }

    private static async Task<ControlPlaneNode> StartAsync() =>
        await ControlPlaneNode.StartInMemoryAsync(fleet: FleetLoader.Load(new StringReader(Fleet), "queue-test.yaml"));

    private static RouteRequest Request(string workloadClass, long deadlineMs = 0) =>
        new() { WorkloadClass = workloadClass, EstimatedInputTokens = 100, MaxOutputTokens = 100, RequestId = "q", DeadlineMs = deadlineMs };

    private static RoutingNode Routing(ControlPlaneNode node) => node.Services.GetRequiredService<RoutingNode>();

    private static int Held(ControlPlaneNode node, string workloadClass) => Routing(node).HeldCalls(workloadClass);

    private static (long Tokens, long Requests) Spent(ControlPlaneNode node, string endpointId) =>
        Routing(node).LeaseSpent(endpointId) ?? throw new InvalidOperationException($"{endpointId} has no active lease on the node");

    private static async Task WaitForHeldAsync(ControlPlaneNode node, string workloadClass, int count)
    {
        var clock = Stopwatch.StartNew();
        while (Held(node, workloadClass) != count)
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"{workloadClass}: {Held(node, workloadClass)} calls held, expected {count}");
            await Task.Delay(10);
        }
    }

    private static async Task ForceOpenAsync(ControlPlaneNode node, string endpointId, int ttlSeconds = 0)
    {
        var ttl = ttlSeconds > 0 ? $",\"ttlSeconds\":{ttlSeconds}" : "";
        using var response = await node.PostAdminAsync($"admin/v1/endpoints/{endpointId}/breaker", $$"""{"state":"open","reason":"queue test"{{ttl}}}""", "tester");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private static async Task ClearAsync(ControlPlaneNode node, string endpointId)
    {
        using var response = await node.PostAdminAsync($"admin/v1/endpoints/{endpointId}/breaker", """{"state":"auto","reason":"resolved"}""", "tester");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }
}
