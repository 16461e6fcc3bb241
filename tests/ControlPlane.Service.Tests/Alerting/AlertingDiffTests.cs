using ControlPlane.Service.FleetReload;
using ControlPlane.Service.Tests.Support;

namespace ControlPlane.Service.Tests.Alerting;

/// <summary>A reload that changes only where alerts go is a change (applied), not "nothing to do".</summary>
public sealed class AlertingDiffTests
{
    private const string Fleet = """
        endpoints:
          - { id: a, provider: vllm, model: llama, model_version: v1, region: eu, context_window: 32000, price_per_1k: { input: 0, output: 0 }, owner_team: t, on_call: t }
        classes:
          - { name: chat, owner: t, mode: auto_fallback, primary: [a], slo: { availability: 0.99 } }
        teams:
          - name: t
            receivers: [ { type: webhook, url: "https://hooks.example.com/secret-path" } ]
          - name: gone
        """;

    [Fact]
    public void Teams_and_the_runbook_base_are_reload_changes_that_never_show_a_url()
    {
        string changed = Fleet.Replace("secret-path", "other-secret", StringComparison.Ordinal).Replace("  - name: gone", "  - name: new", StringComparison.Ordinal)
            + "\nalerting: { runbook_base_url: 'https://runbooks.example.com/' }\n";

        var diff = FleetDiff.Compare(ServiceNode.Fleet(Fleet), ServiceNode.Fleet(changed));

        Assert.Empty(diff.Refusals);
        Assert.Equal(
            [
                "alerting.runbook_base_url: docs/runbooks/ -> https://runbooks.example.com/",
                "teams.t: on_call or receivers changed",
                "teams.gone: removed",
                "teams.new: added",
            ],
            diff.Changes);
        Assert.Empty(FleetDiff.Compare(ServiceNode.Fleet(Fleet), ServiceNode.Fleet(Fleet)).Changes);
    }
}
