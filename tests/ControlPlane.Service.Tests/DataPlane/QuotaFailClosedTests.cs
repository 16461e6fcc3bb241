using ControlPlane.Service.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace ControlPlane.Service.Tests.DataPlane;

/// <summary>A limited endpoint whose grain cannot grant a lease is not unlimited on the node: it is refused, as an
/// expired lease is, and the class falls back (or holds) until a lease arrives.</summary>
public sealed class QuotaFailClosedTests : IDisposable
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
    private readonly TestStorage _storage = new();

    [Fact]
    public async Task A_limited_endpoint_without_a_lease_is_refused_until_its_grain_can_grant_one()
    {
        // The real SQLite provider behind a probe whose reads of the "small" endpoint grain fail until healed.
        var broken = GrainId.Create("endpoint", "small");
        var probe = new StorageProbe { FailReads = id => id == broken };
        await using var node = await ServiceNode.StartAsync(_time, _storage, ServiceNode.Fleet(Fleet), o => o.LeaseSliceFraction = 0.5, probe);

        // The grain cannot activate, so no lease: the node neither admits unlimited traffic nor stops routing.
        Assert.Equal("queue_only_hold", node.Route("batch").RouteReason);
        var chat = node.Route("chat");
        Assert.Equal("spare", chat.EndpointId);

        probe.FailReads = null;
        await node.Node.RenewLeasesAsync();
        Assert.Equal("small", node.Route("batch").EndpointId);
        Assert.Equal("small", node.Route("chat").EndpointId);
    }

    public void Dispose() => _storage.Dispose();
}
