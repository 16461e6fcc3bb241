namespace ControlPlane.Testing.Regions;

/// <summary>Small fleets for two-region runs: endpoints homed in each region, classes whose primary is in one region
/// and whose fallback is in the other, no quota limits (so Route always has an answer while a breaker is closed).</summary>
public static class RegionFleets
{
    /// <summary>Homed in us-east; the primary of <see cref="UsClass"/>.</summary>
    public const string UsEndpoint = "us-main";

    /// <summary>Homed in us-east; a second endpoint that nothing forces.</summary>
    public const string UsSpare = "us-spare";

    /// <summary>Homed in eu-west; the primary of <see cref="EuClass"/>.</summary>
    public const string EuEndpoint = "eu-main";

    /// <summary>Homed in eu-west; a second endpoint that nothing forces.</summary>
    public const string EuSpare = "eu-spare";

    /// <summary>Primary <see cref="UsEndpoint"/>, fallbacks <see cref="EuEndpoint"/> then <see cref="UsSpare"/>.</summary>
    public const string UsClass = "us_chat";

    /// <summary>Primary <see cref="EuEndpoint"/>, fallbacks <see cref="UsEndpoint"/> then <see cref="EuSpare"/>.</summary>
    public const string EuClass = "eu_chat";

    /// <summary>The fleet with <c>regions:</c> (us-east the policy home) when <paramref name="withRegions"/>; without it,
    /// the same endpoints and classes as a single-region fleet (the region only a label).</summary>
    public static string Basic(bool withRegions = true) =>
        (withRegions
            ? """
              fleet: { name: regions-test }
              regions:
                - { name: us-east, policy_home: true }
                - { name: eu-west }

              """
            : "fleet: { name: regions-test }\n") +
        """
        endpoints:
          - { id: us-main, provider: p1, model: m, model_version: v1, region: us-east, context_window: 128000, capabilities: [streaming], price_per_1k: { input: 0.001, output: 0.002 }, limits: { tpm: 0, rpm: 0 }, owner_team: t, on_call: t }
          - { id: us-spare, provider: p2, model: m, model_version: v1, region: us-east, context_window: 128000, capabilities: [streaming], price_per_1k: { input: 0.001, output: 0.002 }, limits: { tpm: 0, rpm: 0 }, owner_team: t, on_call: t }
          - { id: eu-main, provider: p3, model: m, model_version: v1, region: eu-west, context_window: 128000, capabilities: [streaming], price_per_1k: { input: 0.001, output: 0.002 }, limits: { tpm: 0, rpm: 0 }, owner_team: t, on_call: t }
          - { id: eu-spare, provider: p4, model: m, model_version: v1, region: eu-west, context_window: 128000, capabilities: [streaming], price_per_1k: { input: 0.001, output: 0.002 }, limits: { tpm: 0, rpm: 0 }, owner_team: t, on_call: t }
        classes:
          - { name: us_chat, owner: t, mode: auto_fallback, primary: [us-main], fallbacks: [{ endpoint: eu-main, eval_score: 0.9 }, { endpoint: us-spare, eval_score: 0.9 }], slo: { availability: 0.99 } }
          - { name: eu_chat, owner: t, mode: auto_fallback, primary: [eu-main], fallbacks: [{ endpoint: us-main, eval_score: 0.9 }, { endpoint: eu-spare, eval_score: 0.9 }], slo: { availability: 0.99 } }
        """;
}
