using ControlPlane.Grains;
using ControlPlane.Grains.Storage;
using ControlPlane.Service.Tests.Support;
using ControlPlane.Testing;

namespace ControlPlane.Service.Tests.DataPlane;

/// <summary>A limited endpoint whose grain cannot grant a lease is not unlimited on the node: it is refused, as an
/// expired lease is, and the class falls back (or holds) until a lease arrives.</summary>
public sealed class QuotaFailClosedTests
{
    private const string Fleet = """
        endpoints:
          - { id: small, provider: vllm, model: llama, model_version: v1, region: eu, context_window: 32000, price_per_1k: { input: 0, output: 0 }, limits: { tpm: 0, rpm: 10 }, owner_team: t, on_call: t }
          - { id: spare, provider: vllm, model: llama, model_version: v2, region: eu, context_window: 32000, price_per_1k: { input: 0, output: 0 }, owner_team: t, on_call: t }
        classes:
          - { name: batch, owner: t, mode: queue_only, primary: [small], slo: { availability: 0.99 } }
          - { name: chat, owner: t, mode: auto_fallback, primary: [small], fallbacks: [spare], slo: { availability: 0.99 } }
        """;

    private readonly FakeTimeProvider _time = new();

    [Fact]
    public async Task A_limited_endpoint_without_a_lease_is_refused_until_its_grain_can_grant_one()
    {
        var storage = new UnreadableGrainStorage(new GrainId("endpoint", "small"));
        await using var node = await ServiceNode.StartAsync(_time, storage, ServiceNode.Fleet(Fleet), o => o.LeaseSliceFraction = 0.5);

        // The grain cannot activate, so no lease: the node neither admits unlimited traffic nor stops routing.
        Assert.Equal("queue_only_hold", node.Route("batch").RouteReason);
        var chat = node.Route("chat");
        Assert.Equal("spare", chat.EndpointId);

        storage.Heal();
        await node.Node.RenewLeasesAsync();
        Assert.Equal("small", node.Route("batch").EndpointId);
        Assert.Equal("small", node.Route("chat").EndpointId);
    }

    /// <summary>Memory storage whose reads of one grain fail (its state store unreachable) until healed.</summary>
    private sealed class UnreadableGrainStorage(GrainId broken) : IGrainStorage
    {
        private readonly MemoryGrainStorage _inner = new();
        private volatile bool _healed;

        public void Heal() => _healed = true;

        public ValueTask<GrainStateRecord?> ReadAsync(GrainId grainId, CancellationToken cancellationToken = default) =>
            grainId == broken && !_healed
                ? ValueTask.FromException<GrainStateRecord?>(new IOException($"state of {grainId} is unreachable"))
                : _inner.ReadAsync(grainId, cancellationToken);

        public ValueTask<string> WriteAsync(GrainId grainId, ReadOnlyMemory<byte> state, string? expectedETag, long epoch, CancellationToken cancellationToken = default) =>
            _inner.WriteAsync(grainId, state, expectedETag, epoch, cancellationToken);

        public ValueTask ClearAsync(GrainId grainId, string? expectedETag, long epoch, CancellationToken cancellationToken = default) =>
            _inner.ClearAsync(grainId, expectedETag, epoch, cancellationToken);
    }
}
