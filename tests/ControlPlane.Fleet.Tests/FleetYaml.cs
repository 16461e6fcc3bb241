using ControlPlane.Fleet;

namespace ControlPlane.Fleet.Tests;

/// <summary>A small valid fleet file whose lines tests replace one at a time, so every expected line number is fixed.</summary>
internal static class FleetYaml
{
    public const string Source = "test.yaml";

    /// <summary>Line numbers are 1-based: line 1 is <c>fleet: ...</c>, line 42 the last <c>slo</c>.</summary>
    public static readonly string[] BaseLines =
    [
        /*  1 */ "fleet: { name: test, version: 3 }",
        /*  2 */ "endpoints:",
        /*  3 */ "  - id: ep-a",
        /*  4 */ "    provider: openai",
        /*  5 */ "    model: gpt-4o",
        /*  6 */ "    model_version: gpt-4o-2024-08-06",
        /*  7 */ "    region: us-east",
        /*  8 */ "    context_window: 128000",
        /*  9 */ "    capabilities: [tools, vision]",
        /* 10 */ "    price_per_1k: { input: 0.0025, output: 0.01 }",
        /* 11 */ "    limits: { tpm: 2000000, rpm: 5000 }",
        /* 12 */ "    owner_team: platform-ai",
        /* 13 */ "    on_call: \"#ai-oncall\"",
        /* 14 */ "    deprecation: { date: 2026-12-31, migrate_to: ep-b }",
        /* 15 */ "  - id: ep-b",
        /* 16 */ "    provider: anthropic",
        /* 17 */ "    model: claude-sonnet-4",
        /* 18 */ "    model_version: claude-sonnet-4-20250514",
        /* 19 */ "    region: eu-west",
        /* 20 */ "    context_window: 200000",
        /* 21 */ "    capabilities: [tools, vision, streaming]",
        /* 22 */ "    price_per_1k: { input: 0.003, output: 0.015 }",
        /* 23 */ "    owner_team: platform-ai",
        /* 24 */ "    on_call: \"#ai-oncall\"",
        /* 25 */ "classes:",
        /* 26 */ "  - name: chat",
        /* 27 */ "    owner: support-eng",
        /* 28 */ "    mode: auto_fallback",
        /* 29 */ "    priority: interactive",
        /* 30 */ "    weight: 4",
        /* 31 */ "    primary: [ep-a]",
        /* 32 */ "    fallbacks: [{ endpoint: ep-b, eval_score: 0.93 }]",
        /* 33 */ "    conditions: { min_context_window: 32000, required_capabilities: [tools], quality_gate: 0.9 }",
        /* 34 */ "    panic: { threshold: 1, mode: fail }",
        /* 35 */ "    budget: { tokens_per_minute: 500000, requests_per_minute: 2000 }",
        /* 36 */ "    slo: { availability: 0.995, quality: 0.95, latency_p95_ms: 4000 }",
        /* 37 */ "  - name: legal",
        /* 38 */ "    owner: legal-tech",
        /* 39 */ "    mode: queue_only",
        /* 40 */ "    primary: [ep-b]",
        /* 41 */ "    prohibited: [ep-a]",
        /* 42 */ "    slo: { availability: 0.99 }",
    ];

    public static string Base => Join(BaseLines);

    /// <summary>The base file with the given 1-based lines replaced (an empty string blanks a line; numbering is kept).</summary>
    public static string With(params (int Line, string Text)[] replacements)
    {
        var lines = (string[])BaseLines.Clone();
        foreach (var (line, text) in replacements)
        {
            lines[line - 1] = text;
        }

        return Join(lines);
    }

    public static FleetDefinition Load(string yaml) => FleetLoader.Load(new StringReader(yaml), Source);

    /// <summary>The errors loading <paramref name="yaml"/> reports; fails the test if it loads.</summary>
    public static IReadOnlyList<FleetConfigError> Errors(string yaml)
    {
        var e = Assert.Throws<FleetConfigException>(() => Load(yaml));
        Assert.NotEmpty(e.Errors);
        return e.Errors;
    }

    /// <summary>The 1-based column of <paramref name="token"/> in <paramref name="line"/>.</summary>
    public static int Col(string line, string token)
    {
        int index = line.IndexOf(token, StringComparison.Ordinal);
        Assert.True(index >= 0, $"'{token}' not in '{line}'");
        return index + 1;
    }

    private static string Join(IEnumerable<string> lines) => string.Join('\n', lines) + "\n";
}
