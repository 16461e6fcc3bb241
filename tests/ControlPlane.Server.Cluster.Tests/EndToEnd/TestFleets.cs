using System.Globalization;
using System.Text;
using ControlPlane.Fleet;

namespace ControlPlane.Server.Cluster.Tests.EndToEnd;

/// <summary>Small fleets for the end-to-end tests (the sample fleet, deploy/fleet.sample.yaml, is the default).</summary>
internal static class TestFleets
{
    // The queue-only classes that count refusals against a limit answer them at once (queue: { max_wait_ms: 0 }):
    // holding a refused call until quota comes back is what the queue tests cover, not these.
    // One endpoint limited to 600 requests a minute (tokens unlimited), the only endpoint of its class.
    public const string Limited = """
        fleet: { name: rpm-test }
        endpoints:
          - { id: limited, provider: p, model: m, model_version: v1, region: r, context_window: 128000, capabilities: [streaming], price_per_1k: { input: 0.001, output: 0.002 }, limits: { tpm: 0, rpm: 600 }, owner_team: t, on_call: t }
          - { id: spare, provider: q, model: m, model_version: v1, region: r, context_window: 128000, capabilities: [streaming], price_per_1k: { input: 0.001, output: 0.002 }, limits: { tpm: 0, rpm: 0 }, owner_team: t, on_call: t }
        classes:
          - { name: chat, owner: t, mode: queue_only, primary: [limited], queue: { max_wait_ms: 0 }, slo: { availability: 0.99 } }
          - { name: other, owner: t, mode: auto_fallback, primary: [spare], slo: { availability: 0.99 } }
        """;

    // The same 600 a minute as a workload-class budget over an unlimited endpoint.
    public const string Budget = """
        fleet: { name: budget-test }
        endpoints:
          - { id: limited, provider: p, model: m, model_version: v1, region: r, context_window: 128000, capabilities: [streaming], price_per_1k: { input: 0.001, output: 0.002 }, limits: { tpm: 0, rpm: 0 }, owner_team: t, on_call: t }
        classes:
          - { name: chat, owner: t, mode: queue_only, primary: [limited], budget: { tokens_per_minute: 0, requests_per_minute: 600 }, queue: { max_wait_ms: 0 }, slo: { availability: 0.99 } }
        """;

    // For the thin data-plane cluster: an RPM-limited class (chat) and a class with a fallback (web) to force around.
    public const string Thin = """
        fleet: { name: thin-test }
        endpoints:
          - { id: limited, provider: p, model: m, model_version: v1, region: r, context_window: 128000, capabilities: [streaming], price_per_1k: { input: 0.001, output: 0.002 }, limits: { tpm: 0, rpm: 600 }, owner_team: t, on_call: t }
          - { id: main, provider: q, model: m, model_version: v1, region: r, context_window: 128000, capabilities: [streaming], price_per_1k: { input: 0.001, output: 0.002 }, limits: { tpm: 0, rpm: 0 }, owner_team: t, on_call: t }
          - { id: backup, provider: s, model: m, model_version: v1, region: r, context_window: 128000, capabilities: [streaming], price_per_1k: { input: 0.001, output: 0.002 }, limits: { tpm: 0, rpm: 0 }, owner_team: t, on_call: t }
        classes:
          - { name: chat, owner: t, mode: queue_only, primary: [limited], queue: { max_wait_ms: 0 }, slo: { availability: 0.99 } }
          - { name: web, owner: t, mode: auto_fallback, primary: [main], fallbacks: [{ endpoint: backup, eval_score: 0.9 }], slo: { availability: 0.99 } }
        """;

    public static FleetDefinition Load(string yaml, string name) => FleetLoader.Load(new StringReader(yaml), name + ".yaml");

    /// <summary>Many endpoints and classes (each class queue-only on its own endpoint), so that rendezvous placement
    /// leaves no silo of three without a grain except with negligible probability ((2/3)^n per silo).</summary>
    public static FleetDefinition Many(int endpoints, int classes)
    {
        var yaml = new StringBuilder("fleet: { name: spread-test }\nendpoints:\n");
        for (var i = 0; i < endpoints; i++)
        {
            yaml.Append(CultureInfo.InvariantCulture, $"  - {{ id: e{i:D2}, provider: p{i}, model: m, model_version: v1, region: r, context_window: 128000, capabilities: [streaming], price_per_1k: {{ input: 0.001, output: 0.002 }}, limits: {{ tpm: 0, rpm: 0 }}, owner_team: t, on_call: t }}\n");
        }

        yaml.Append("classes:\n");
        for (var i = 0; i < classes; i++)
        {
            yaml.Append(CultureInfo.InvariantCulture, $"  - {{ name: c{i:D2}, owner: t, mode: queue_only, primary: [e{i % endpoints:D2}], slo: {{ availability: 0.99 }} }}\n");
        }

        return Load(yaml.ToString(), "spread-test");
    }
}
