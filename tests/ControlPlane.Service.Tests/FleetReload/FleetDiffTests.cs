using ControlPlane.Service.FleetReload;
using ControlPlane.Service.Tests.Support;

namespace ControlPlane.Service.Tests.FleetReload;

/// <summary>What a reload applies and what it refuses, file against file.</summary>
public sealed class FleetDiffTests
{
    private const string Fleet = """
        endpoints:
          - { id: a, provider: vllm, model: llama, model_version: v1, region: eu, context_window: 32000, capabilities: [streaming], price_per_1k: { input: 0, output: 0 }, owner_team: t, on_call: t }
          - { id: b, provider: vllm, model: llama, model_version: v2, region: eu, context_window: 32000, price_per_1k: { input: 0, output: 0 }, owner_team: t, on_call: t }
          - { id: c, provider: vllm, model: llama, model_version: v3, region: eu, context_window: 32000, price_per_1k: { input: 0, output: 0 }, owner_team: t, on_call: t }
        classes:
          - { name: chat, owner: t, mode: auto_fallback, primary: [a], fallbacks: [b], slo: { availability: 0.99 } }
        """;

    [Fact]
    public void Endpoint_attributes_are_changes_named_by_their_file_keys()
    {
        var changed = Fleet.Replace("capabilities: [streaming], price_per_1k: { input: 0, output: 0 }, owner_team: t",
            "capabilities: [streaming, vision], price_per_1k: { input: 0, output: 0 }, owner_team: t, deprecation: { date: 2027-01-31, migrate_to: b }", StringComparison.Ordinal);

        var diff = FleetDiff.Compare(ServiceNode.Fleet(Fleet), ServiceNode.Fleet(changed));

        Assert.Empty(diff.Refusals);
        Assert.Equal(["endpoints.a.capabilities: Streaming -> Vision, Streaming", "endpoints.a.deprecation: (none) -> 2027-01-31 migrate_to b"], diff.Changes);
        Assert.Equal(["a"], diff.ChangedEndpoints);
    }

    [Fact]
    public void A_recovery_gate_is_a_change_a_reload_applies()
    {
        var changed = "evals:\n  recovery_gate: { min_probes: 4 }\n" + Fleet.Replace("model_version: v2, region: eu, context_window: 32000, price_per_1k: { input: 0, output: 0 }, owner_team: t, on_call: t }",
            "model_version: v2, region: eu, context_window: 32000, price_per_1k: { input: 0, output: 0 }, owner_team: t, on_call: t, recovery_gate: { golden_set: false } }", StringComparison.Ordinal);

        var diff = FleetDiff.Compare(ServiceNode.Fleet(Fleet), ServiceNode.Fleet(changed));

        Assert.Empty(diff.Refusals);
        Assert.Equal(
            [
                "endpoints.a.recovery_gate: off -> min_probes 4, pass_rate 0.8, release_without_probes_seconds 900",
                "endpoints.c.recovery_gate: off -> min_probes 4, pass_rate 0.8, release_without_probes_seconds 900",
            ], diff.Changes);
    }

    [Fact]
    public void Alert_thresholds_and_the_production_flag_are_changes_a_reload_applies()
    {
        var changed = ("alerting:\n  thresholds:\n    fallback_activation: { for: 1h }\n" + Fleet)
            .Replace("slo: { availability: 0.99 } }", "slo: { availability: 0.99 }, production: false, alerts: { provider_error_rate: { threshold: 0.02 } } }", StringComparison.Ordinal)
            .Replace("model_version: v3, region: eu, context_window: 32000, price_per_1k: { input: 0, output: 0 }, owner_team: t, on_call: t }",
                "model_version: v3, region: eu, context_window: 32000, price_per_1k: { input: 0, output: 0 }, owner_team: t, on_call: t, alerts: { provider_latency_p95: { factor: 3 } } }", StringComparison.Ordinal);

        var diff = FleetDiff.Compare(ServiceNode.Fleet(Fleet), ServiceNode.Fleet(changed));

        Assert.Empty(diff.Refusals);
        Assert.Equal(
            [
                "endpoints.a.alerts: defaults -> fallback_activation.for=1h",
                "endpoints.b.alerts: defaults -> fallback_activation.for=1h",
                "endpoints.c.alerts: defaults -> provider_latency_p95.factor=3, fallback_activation.for=1h",
                "classes.chat.production: true -> false",
                "classes.chat.alerts: defaults -> provider_error_rate.threshold=0.02, fallback_activation.for=1h",
            ], diff.Changes);
    }

    [Fact]
    public void Removing_an_unreferenced_endpoint_reordering_or_changing_an_slo_is_refused()
    {
        var withoutC = string.Join('\n', Fleet.Split('\n').Where(l => !l.Contains("id: c", StringComparison.Ordinal)));
        var lines = Fleet.Split('\n');
        (lines[1], lines[3]) = (lines[3], lines[1]);
        var slo = Fleet.Replace("availability: 0.99", "availability: 0.999", StringComparison.Ordinal);

        Assert.Contains("restart", Assert.Single(FleetDiff.Compare(ServiceNode.Fleet(Fleet), ServiceNode.Fleet(withoutC)).Refusals, p => p.Field == "endpoints.c").Message, StringComparison.Ordinal);
        Assert.Contains(FleetDiff.Compare(ServiceNode.Fleet(Fleet), ServiceNode.Fleet(string.Join('\n', lines))).Refusals, p => p.Message.Contains("order", StringComparison.Ordinal));
        Assert.Contains("slo", Assert.Single(FleetDiff.Compare(ServiceNode.Fleet(Fleet), ServiceNode.Fleet(slo)).Refusals).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unmarking_a_regulated_class_or_moving_an_endpoint_to_another_region_is_refused()
    {
        var regulated = Fleet.Replace("slo: { availability: 0.99 } }", "slo: { availability: 0.99 }, regulated: true }", StringComparison.Ordinal);
        var moved = Fleet.Replace("model_version: v2, region: eu", "model_version: v2, region: us", StringComparison.Ordinal);

        Assert.Equal("classes.chat.regulated", Assert.Single(FleetDiff.Compare(ServiceNode.Fleet(regulated), ServiceNode.Fleet(Fleet)).Refusals).Field);
        Assert.Equal("classes.chat.regulated", Assert.Single(FleetDiff.Compare(ServiceNode.Fleet(Fleet), ServiceNode.Fleet(regulated)).Refusals).Field);
        Assert.Contains("region", Assert.Single(FleetDiff.Compare(ServiceNode.Fleet(Fleet), ServiceNode.Fleet(moved)).Refusals, p => p.Field == "endpoints.b").Message, StringComparison.Ordinal);
    }
}
