using ControlPlane.Service.Grains;
using ControlPlane.Service.Tests.Support;
using Microsoft.Extensions.Time.Testing;
using Orleans.Hosting;

namespace ControlPlane.Service.Tests.Grains;

/// <summary>A node that missed a pushed change (its acknowledgement late, or its handler failed) stays subscribed and
/// gets the grain's latest status again <see cref="RoutingSubscribers.RetryDelay"/> later, instead of routing on a stale
/// status until its next renewal (a third of the subscription expiry); after <see cref="RoutingSubscribers.MaxFailedPushes"/>
/// misses in a row it is dropped.</summary>
public sealed class PushRetryTests : IDisposable
{
    private const string Fleet = """
        endpoints:
          - { id: main, provider: vllm, model: llama, model_version: v1, region: eu, context_window: 32000, price_per_1k: { input: 0, output: 0 }, owner_team: t, on_call: t }
          - { id: spare, provider: vllm, model: llama, model_version: v2, region: eu, context_window: 32000, price_per_1k: { input: 0, output: 0 }, owner_team: t, on_call: t }
        classes:
          - { name: chat, owner: t, mode: auto_fallback, primary: [main], fallbacks: [spare], slo: { availability: 0.99 } }
        """;

    private readonly FakeTimeProvider _time = new();
    private readonly TestStorage _storage = new();
    private int _failPushes;
    private int _pushes;

    [Fact]
    public async Task A_node_that_missed_a_push_gets_the_latest_status_a_second_later()
    {
        await using var node = await StartAsync();
        Assert.Equal("main", node.Route("chat").EndpointId);

        // The push of the forced-open breaker is lost on its way to the node.
        Volatile.Write(ref _failPushes, 1);
        await node.Admin.SetBreakerAsync("main", new("open", "push retry test", 3600), TestActors.Named("ops"));
        Assert.Equal(1, Volatile.Read(ref _pushes));
        Assert.Equal("main", node.Route("chat").EndpointId);

        // A second later (far inside the 20 s renewal) the grain pushes its latest status again.
        _time.Advance(RoutingSubscribers.RetryDelay);
        var routed = await Eventually.WaitAsync(() => Task.FromResult(node.Route("chat").EndpointId), id => id == "spare", 1_000);
        Assert.Equal("spare", routed);
        Assert.Equal(2, Volatile.Read(ref _pushes));

        // Caught up: no more retries.
        _time.Advance(RoutingSubscribers.RetryDelay * 3);
        await Task.Delay(200);
        Assert.Equal(2, Volatile.Read(ref _pushes));
    }

    [Fact]
    public async Task A_node_that_misses_three_pushes_in_a_row_is_dropped_until_it_subscribes_again()
    {
        await using var node = await StartAsync();
        Volatile.Write(ref _failPushes, int.MaxValue);
        await node.Admin.SetBreakerAsync("main", new("open", "push retry test", 3600), TestActors.Named("ops"));
        for (var i = 0; i < RoutingSubscribers.MaxFailedPushes + 2; i++)
        {
            _time.Advance(RoutingSubscribers.RetryDelay);
            await Task.Delay(100);
        }

        await Eventually.WaitAsync(() => Task.FromResult(Volatile.Read(ref _pushes)), n => n >= RoutingSubscribers.MaxFailedPushes, 500);
        await Task.Delay(200);
        Assert.Equal(RoutingSubscribers.MaxFailedPushes, Volatile.Read(ref _pushes));
        Assert.Equal("main", node.Route("chat").EndpointId);

        // The node's renewal (a third of the subscription expiry) subscribes it again; the reply carries the current status.
        Volatile.Write(ref _failPushes, 0);
        _time.Advance(new ControlPlaneOptions().SubscriptionExpiry / 3);
        var routed = await Eventually.WaitAsync(() => Task.FromResult(node.Route("chat").EndpointId), id => id == "spare", 1_000);
        Assert.Equal("spare", routed);
    }

    private Task<ServiceNode> StartAsync() =>
        ServiceNode.StartAsync(_time, _storage, ServiceNode.Fleet(Fleet), o => o.PushTimeout = TimeSpan.FromSeconds(2),
            configureSilo: s => s.AddOutgoingGrainCallFilter(async context =>
            {
                if (context.InterfaceMethod?.Name == nameof(IRoutingObserver.OnEndpointChangedAsync) && context.InterfaceMethod.DeclaringType == typeof(IRoutingObserver))
                {
                    Interlocked.Increment(ref _pushes);
                    if (Interlocked.Decrement(ref _failPushes) >= 0)
                    {
                        throw new InvalidOperationException("the push was lost (test)");
                    }
                }

                await context.Invoke();
            }));

    public void Dispose() => _storage.Dispose();
}
