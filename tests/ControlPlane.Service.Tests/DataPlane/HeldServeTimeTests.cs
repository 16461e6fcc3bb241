using ControlPlane.Domain.Routing;
using ControlPlane.Service.Tests.Support;
using Microsoft.Extensions.Time.Testing;
using Wire = ControlPlane.Contracts.V1;

namespace ControlPlane.Service.Tests.DataPlane;

/// <summary>A held call is released onto its primary only with time left for the primary's p95 answer: one with less
/// would be cut by its own deadline and counted as the endpoint's timeout (the bad day's re-opened primary,
/// docs/drills.md). It stays held and gets its hold answer instead; a call with time left is served as before.</summary>
public sealed class HeldServeTimeTests : IDisposable
{
    // The hold tests' fleet: a queue_only class on one endpoint whose lease holds one request.
    private const string Fleet = RoutingNodeHoldTests.Fleet;

    private readonly FakeTimeProvider _time = new();
    private readonly TestStorage _storage = new();

    [Fact]
    public async Task A_held_call_with_less_time_left_than_the_p95_answer_stays_held_until_its_hold_answer()
    {
        await using var node = await StartAsync();
        Assert.True(node.Node.Snapshot.TryGetEndpointIndex("small", out var small));
        node.Node.Snapshot.SetLoad(small, new EndpointLoad { P50LatencyMs = 800, P95LatencyMs = 1_200, P95RequestLatencyMs = 2_500 });
        node.Route("batch");
        var call = node.Node.RouteAsync(Request(), TimeSpan.FromSeconds(5), CancellationToken.None);

        // Quota comes back with 2 s of the 5 s left: under the 2.5 s p95 answer, so the call is not served.
        _time.Advance(TimeSpan.FromSeconds(3));
        await node.Node.RenewLeasesAsync();
        Assert.False(call.IsCompleted);
        Assert.Equal(1, node.Node.HeldCalls("batch"));

        // Its hold answer comes at the deadline less the reply margin (a quarter of 5 s), and it spent nothing.
        _time.Advance(TimeSpan.FromMilliseconds(750));
        var decision = await call.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(("queue_only_hold", ""), (decision.RouteReason, decision.EndpointId));
        Assert.Equal(0, node.Node.HeldCalls("batch"));
    }

    [Fact]
    public async Task A_held_call_with_time_for_the_p95_answer_is_served_with_what_it_has_left()
    {
        await using var node = await StartAsync();
        Assert.True(node.Node.Snapshot.TryGetEndpointIndex("small", out var small));
        node.Node.Snapshot.SetLoad(small, new EndpointLoad { P50LatencyMs = 800, P95LatencyMs = 1_200, P95RequestLatencyMs = 2_500 });
        node.Route("batch");
        var call = node.Node.RouteAsync(Request(), TimeSpan.FromSeconds(5), CancellationToken.None);

        _time.Advance(TimeSpan.FromSeconds(2));
        await node.Node.RenewLeasesAsync();
        var decision = await call.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(("small", "primary"), (decision.EndpointId, decision.RouteReason));
        // The endpoint's budget (the 2 s floor), under the 3 s it has left.
        Assert.Equal(2_000, decision.TimeoutMs);
    }

    public void Dispose() => _storage.Dispose();

    private static Wire.RouteRequest Request() =>
        new() { WorkloadClass = "batch", EstimatedInputTokens = 10, MaxOutputTokens = 10 };

    private Task<ServiceNode> StartAsync() => ServiceNode.StartAsync(_time, _storage, ServiceNode.Fleet(Fleet), o => o.LeaseSliceFraction = 0.1);
}
