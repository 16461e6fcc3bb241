using ControlPlane.Service.Grains;
using ControlPlane.Service.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace ControlPlane.Service.Tests.Grains;

/// <summary>An endpoint with a <c>baseline</c> in the fleet file has baselines from its first activation, so its
/// latency and quality breakers work before its own (possibly scarce) traffic teaches them.</summary>
public sealed class BaselineSeedTests : IDisposable
{
    private const string Fleet = """
        endpoints:
          - id: rare
            provider: vllm
            model: llama
            model_version: llama-3.1-70b
            region: eu-west
            context_window: 128000
            price_per_1k: { input: 0, output: 0 }
            owner_team: t
            on_call: t
            baseline: { latency_p95_ms: 1200, quality_pass_rate: 0.96 }
          - id: plain
            provider: vllm
            model: llama
            model_version: llama-3.1-8b
            region: eu-west
            context_window: 128000
            price_per_1k: { input: 0, output: 0 }
            owner_team: t
            on_call: t
        classes:
          - name: chat
            owner: t
            mode: fail
            primary: [rare, plain]
            slo: { availability: 0.99 }
        """;

    private readonly FakeTimeProvider _time = new();
    private readonly TestStorage _storage = new();

    [Fact]
    public async Task The_fleet_files_baseline_seeds_the_endpoint_and_an_endpoint_without_one_has_none_yet()
    {
        await using var node = await ServiceNode.StartAsync(_time, _storage, ServiceNode.Fleet(Fleet));

        var rare = await node.Grains.GetGrain<IProviderEndpointGrain>("rare").GetDetailsAsync();
        Assert.Equal(TimeSpan.FromMilliseconds(1200), rare.Baseline.LatencyP95);
        Assert.Equal(0.96, rare.Baseline.QualityPassRate);
        var view = await node.Admin.GetEndpointAsync("rare");
        Assert.Equal((1200.0, 0.96), (view.Baseline!.LatencyP95Ms, view.Baseline.QualityPassRate));

        var plain = await node.Grains.GetGrain<IProviderEndpointGrain>("plain").GetDetailsAsync();
        Assert.Null(plain.Baseline.LatencyP95);
    }

    public void Dispose() => _storage.Dispose();
}
