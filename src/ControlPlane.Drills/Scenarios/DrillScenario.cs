namespace ControlPlane.Drills.Scenarios;

/// <summary>The kinds of provider fault a scenario can script (the seeds' failure modes).</summary>
public enum FaultKind
{
    /// <summary>Hard outage: 5xx, refused connections or resets mid-stream.</summary>
    Outage,

    /// <summary>429 storm with Retry-After, or token-per-minute exhaustion.</summary>
    RateLimit,

    /// <summary>Latency and TTFT multiplied.</summary>
    Latency,

    /// <summary>Silent quality drift (wrong answers, HTTP 200).</summary>
    QualityDrift,

    /// <summary>Context window reduced for a share of requests.</summary>
    ContextWindow,

    /// <summary>Silent model-version change in the <c>model</c> field.</summary>
    ModelChange,

    /// <summary>Output length multiplied (cost).</summary>
    RunawayOutput,
}

/// <summary>One scripted fault on one endpoint, on the scenario clock.</summary>
/// <param name="Endpoint">The fleet endpoint id.</param>
/// <param name="Kind">What goes wrong.</param>
/// <param name="Start">From the scenario clock's start.</param>
/// <param name="End">When it stops; null: at the end of the drill.</param>
/// <param name="Share">Share of requests affected (0..1].</param>
/// <param name="Line">1-based line of the fault in its file (for messages).</param>
public sealed record DrillFault(string Endpoint, FaultKind Kind, TimeSpan Start, TimeSpan? End, double Share, int Line)
{
    /// <summary>Outage mode: http_500, http_503, refused or reset_mid_stream.</summary>
    public string? Mode { get; init; }

    /// <summary>Rate limit: the Retry-After the endpoint sends.</summary>
    public TimeSpan? RetryAfter { get; init; }

    /// <summary>Rate limit: token-per-minute exhaustion instead of a blanket 429 storm.</summary>
    public long? Tpm { get; init; }

    /// <summary>Latency: the factor on latency and TTFT (3..10).</summary>
    public double? Factor { get; init; }

    /// <summary>Model change: the new version reported.</summary>
    public string? ModelVersion { get; init; }

    /// <summary>Runaway output: the factor on output tokens.</summary>
    public double? OutputFactor { get; init; }

    /// <summary>The fault's end on the drill clock of length <paramref name="duration"/>.</summary>
    public TimeSpan EndWithin(TimeSpan duration) => End is { } end && end < duration ? end : duration;

    /// <summary>The scenario-file name of <see cref="Kind"/>.</summary>
    public string KindName => DrillScenarioReader.KindName(Kind);
}

/// <summary>Requests per second per workload class.</summary>
/// <param name="DefaultRps">For classes not listed.</param>
/// <param name="Classes">Per class rates.</param>
public sealed record TrafficPlan(double DefaultRps, IReadOnlyDictionary<string, double> Classes)
{
    /// <summary>The rate of <paramref name="workloadClass"/>.</summary>
    public double RateOf(string workloadClass) => Classes.TryGetValue(workloadClass, out var rps) ? rps : DefaultRps;
}

/// <summary>A drill scenario (<c>deploy/drills/*.yaml</c>; format: <c>docs/drills.md</c>).</summary>
/// <param name="Name">The scenario's name (the report folder).</param>
/// <param name="Description">What it plays.</param>
/// <param name="Duration">The drill's length.</param>
/// <param name="Seed">The simulator's seed.</param>
/// <param name="Traffic">Rates per class.</param>
/// <param name="Faults">The fault timeline.</param>
/// <param name="Source">The file it came from.</param>
public sealed record DrillScenario(string Name, string Description, TimeSpan Duration, int Seed, TrafficPlan Traffic,
    IReadOnlyList<DrillFault> Faults, string Source)
{
    /// <summary>The scenario with every time (duration, fault start/end) divided by <paramref name="divisor"/>, but no
    /// fault shorter than <paramref name="minFault"/> and no drill shorter than its last fault's end plus
    /// <paramref name="minTail"/> (detection and recovery need their windows even in a short drill).</summary>
    public DrillScenario Scaled(double divisor, TimeSpan minFault, TimeSpan minTail)
    {
        if (divisor <= 1)
        {
            return this;
        }

        var faults = new List<DrillFault>(Faults.Count);
        var needed = TimeSpan.Zero;
        foreach (var fault in Faults)
        {
            var start = fault.Start / divisor;
            var originalEnd = fault.EndWithin(Duration);
            var length = (originalEnd - fault.Start) / divisor;
            if (length < minFault)
            {
                length = minFault;
            }

            TimeSpan? end = fault.End is null ? null : start + length;
            faults.Add(fault with { Start = start, End = end });
            var tail = (end ?? start + length) + (fault.End is null ? TimeSpan.Zero : minTail);
            needed = tail > needed ? tail : needed;
        }

        var duration = Duration / divisor;
        return this with { Duration = duration > needed ? duration : needed, Faults = faults };
    }
}
