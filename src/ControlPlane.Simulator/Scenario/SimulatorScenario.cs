using System.Collections.Immutable;

namespace ControlPlane.Simulator.Scenario;

/// <summary>A scenario file (<c>docs/simulator.md</c>): the faults the simulator plays on its scenario clock, plus the
/// drill's length, seed, traffic and per-endpoint latency overrides. Created only by <see cref="ScenarioLoader"/>.</summary>
public sealed record SimulatorScenario
{
    /// <summary>The scenario's name (<c>name</c>).</summary>
    public required string Name { get; init; }

    /// <summary>What the scenario plays, for people (<c>description</c>); empty when not given.</summary>
    public string Description { get; init; } = "";

    /// <summary>The drill's length (<c>duration</c>); null when not given.</summary>
    public TimeSpan? Duration { get; init; }

    /// <summary>The scenario's seed (<c>seed</c>); null when not given (the simulator's <c>--seed</c> wins anyway).</summary>
    public int? Seed { get; init; }

    /// <summary>Requests per second per workload class for the drill runner (<c>traffic</c>).</summary>
    public ScenarioTraffic Traffic { get; init; } = ScenarioTraffic.None;

    /// <summary>The scripted faults (<c>faults</c>), in file order; times are from the scenario clock's start.</summary>
    public ImmutableArray<FaultSpec> Faults { get; init; } = [];

    /// <summary>Per-endpoint latency overrides (<c>latency</c>), keyed by endpoint id.</summary>
    public ImmutableDictionary<string, LatencyOverride> Latency { get; init; } = ImmutableDictionary<string, LatencyOverride>.Empty;
}

/// <summary>The drill's traffic: requests per second per workload class.</summary>
/// <param name="DefaultRps">Rate of each class not listed in <paramref name="Classes"/>.</param>
/// <param name="Classes">Rate per class name.</param>
public sealed record ScenarioTraffic(double DefaultRps, ImmutableDictionary<string, double> Classes)
{
    /// <summary>No traffic block: zero default rate, no classes.</summary>
    public static ScenarioTraffic None { get; } = new(0, ImmutableDictionary<string, double>.Empty);

    /// <summary>The rate for <paramref name="className"/>.</summary>
    public double RateFor(string className) => Classes.TryGetValue(className, out double rps) ? rps : DefaultRps;
}

/// <summary>An endpoint's latency parameters in place of its model family's defaults; null members keep the default.</summary>
/// <param name="TtftMs">Median time to first token in milliseconds.</param>
/// <param name="TokensPerSecond">Median output throughput in tokens per second.</param>
public sealed record LatencyOverride(double? TtftMs, double? TokensPerSecond);

/// <summary>What a fault does to an endpoint.</summary>
public enum FaultKind
{
    /// <summary>Requests fail: HTTP 500/503, refused connections or connections reset mid-stream.</summary>
    Outage,

    /// <summary>429 with Retry-After: a blanket storm or, with <c>tpm</c>, once the minute's tokens pass the limit.</summary>
    RateLimit,

    /// <summary>Latency and time to first token multiplied by <c>factor</c>.</summary>
    Latency,

    /// <summary>A share of answers drifted: the grader-visible answer no longer matches.</summary>
    QualityDrift,

    /// <summary>A share of requests refused as over the context window (HTTP 400).</summary>
    ContextWindow,

    /// <summary>The answers' <c>model</c> silently becomes another version.</summary>
    ModelChange,

    /// <summary>Output tokens (and so cost) multiplied by <c>output_factor</c>.</summary>
    RunawayOutput,
}

/// <summary>How an outage fails requests.</summary>
public enum OutageMode
{
    /// <summary>HTTP 500 with the provider's error body.</summary>
    Http500,

    /// <summary>HTTP 503 with the provider's error body.</summary>
    Http503,

    /// <summary>The endpoint's port stops listening (connection refused) until the fault ends.</summary>
    Refused,

    /// <summary>Streams are cut by a TCP reset after a few chunks; non-streaming requests are reset before the response.</summary>
    ResetMidStream,
}

/// <summary>One scripted fault. Times are offsets: from the scenario clock's start in a scenario file, from now when
/// posted to the admin API.</summary>
public sealed record FaultSpec
{
    /// <summary>The endpoint id the fault hits.</summary>
    public required string Endpoint { get; init; }

    /// <summary>What the fault does.</summary>
    public required FaultKind Kind { get; init; }

    /// <summary>When the fault starts.</summary>
    public TimeSpan Start { get; init; }

    /// <summary>When the fault ends; null: until the end.</summary>
    public TimeSpan? End { get; init; }

    /// <summary>Share of requests affected, in (0, 1].</summary>
    public double Share { get; init; } = 1.0;

    /// <summary>Outage only: how requests fail.</summary>
    public OutageMode Mode { get; init; } = OutageMode.Http500;

    /// <summary>Rate limit only: the Retry-After the 429s carry (a storm; the tpm mode says when the minute ends).</summary>
    public TimeSpan RetryAfter { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Rate limit only: tokens per minute after which requests get 429; null: a blanket 429 storm.</summary>
    public long? Tpm { get; init; }

    /// <summary>Latency only: the multiplier of latency and time to first token.</summary>
    public double Factor { get; init; } = 5;

    /// <summary>Model change only: the version the answers report.</summary>
    public string? ModelVersion { get; init; }

    /// <summary>Runaway output only: the multiplier of output tokens.</summary>
    public double OutputFactor { get; init; } = 8;
}
