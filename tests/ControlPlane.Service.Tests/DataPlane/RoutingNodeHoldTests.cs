using ControlPlane.Service.Tests.Support;
using Microsoft.Extensions.Time.Testing;
using Wire = ControlPlane.Contracts.V1;

namespace ControlPlane.Service.Tests.DataPlane;

/// <summary>Held Route calls on the node's own (fake) clock, with real grains and leases: the line is served first in,
/// first out as leases bring quota one request at a time; a call's timeout is what its deadline has left after the
/// wait; a call whose wait ran out is never served later and spends nothing.</summary>
public sealed class RoutingNodeHoldTests : IDisposable
{
    // rpm 10 with a 0.1 slice: each lease holds one request, so each renewal serves exactly one held call.
    internal const string Fleet = """
        endpoints:
          - { id: small, provider: vllm, model: llama, model_version: v1, region: eu, context_window: 32000, price_per_1k: { input: 0, output: 0 }, limits: { tpm: 0, rpm: 10 }, owner_team: t, on_call: t }
        classes:
          - { name: batch, owner: t, mode: queue_only, primary: [small], queue: { max_wait_ms: 60_000, max_depth: 10 }, slo: { availability: 0.99 } }
        """;

    private readonly FakeTimeProvider _time = new();
    private readonly TestStorage _storage = new();

    [Fact]
    public async Task Calls_held_for_quota_are_served_first_in_first_out_one_per_lease()
    {
        await using var node = await StartAsync();
        Assert.Equal("small", node.Route("batch").EndpointId);
        Assert.Equal("queue_only_hold", node.Route("batch").RouteReason);

        var calls = Enumerable.Range(0, 4).Select(_ => node.Node.RouteAsync(Request(), TimeSpan.FromSeconds(30), CancellationToken.None)).ToList();
        Assert.Equal(4, node.Node.HeldCalls("batch"));
        Assert.All(calls, call => Assert.False(call.IsCompleted));

        for (var served = 0; served < calls.Count; served++)
        {
            await node.Node.RenewLeasesAsync();
            var decision = await calls[served].WaitAsync(TimeSpan.FromSeconds(10));

            Assert.Equal(("small", "primary"), (decision.EndpointId, decision.RouteReason));
            Assert.Equal(calls.Count - served - 1, node.Node.HeldCalls("batch"));
            Assert.All(calls.Skip(served + 1), call => Assert.False(call.IsCompleted, $"a younger call was served with call {served}"));
        }
    }

    [Fact]
    public async Task A_call_served_after_a_wait_gets_the_deadline_it_has_left_as_its_timeout()
    {
        await using var node = await StartAsync();
        node.Route("batch");
        var call = node.Node.RouteAsync(Request(), TimeSpan.FromSeconds(5), CancellationToken.None);

        _time.Advance(TimeSpan.FromSeconds(2));
        await node.Node.RenewLeasesAsync();
        var decision = await call.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal("small", decision.EndpointId);
        Assert.Equal(3_000, decision.TimeoutMs);
    }

    [Fact]
    public async Task A_call_whose_deadline_ran_out_while_held_is_answered_before_it_and_never_served_later()
    {
        await using var node = await StartAsync();
        await node.Admin.SetBreakerAsync("small", new("open", "maintenance", null), TestActors.Named("alice"));
        var call = node.Node.RouteAsync(Request(deadlineMs: 1_000), null, CancellationToken.None);

        // Answered at the deadline less the reply margin (a quarter of the 1 s deadline: 250 ms), on the node's clock.
        _time.Advance(TimeSpan.FromMilliseconds(749));
        Assert.False(call.IsCompleted);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        var decision = await call.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(("queue_only_hold", ""), (decision.RouteReason, decision.EndpointId));
        // The override has no expiry: come back after the class's max wait.
        Assert.Equal(60_000, decision.RetryAfterMs);
        Assert.Equal(0, node.Node.HeldCalls("batch"));

        // The primary coming back afterwards serves nothing: the answered call spent nothing.
        await node.Admin.SetBreakerAsync("small", new("auto", "done", null), TestActors.Named("alice"));
        Assert.Equal((0, 0), node.Node.LeaseSpent("small"));
        Assert.Equal("small", node.Route("batch").EndpointId);
        Assert.Equal(1, node.Node.LeaseSpent("small")!.Value.Requests);
    }

    public void Dispose() => _storage.Dispose();

    private static Wire.RouteRequest Request(long deadlineMs = 0) =>
        new() { WorkloadClass = "batch", EstimatedInputTokens = 10, MaxOutputTokens = 10, DeadlineMs = deadlineMs };

    private Task<ServiceNode> StartAsync() => ServiceNode.StartAsync(_time, _storage, ServiceNode.Fleet(Fleet), o => o.LeaseSliceFraction = 0.1);
}
