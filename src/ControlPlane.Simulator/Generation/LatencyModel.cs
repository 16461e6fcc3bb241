using ControlPlane.Simulator.Scenario;

namespace ControlPlane.Simulator.Generation;

/// <summary>
/// An endpoint's latency: time to first token log-normal around a median, output throughput log-normal around a
/// median, both by model family (words of the model name: small/mini/flash/haiku fast, opus/pro/o1/large slow, the rest in between) unless the
/// scenario's <c>latency:</c> map overrides them.
/// </summary>
/// <param name="TtftMedianMs">Median time to first token, milliseconds.</param>
/// <param name="TtftSigma">Log-normal sigma of the time to first token.</param>
/// <param name="TokensPerSecond">Median output throughput.</param>
/// <param name="ThroughputSigma">Log-normal sigma of the throughput.</param>
internal sealed record LatencyModel(double TtftMedianMs, double TtftSigma, double TokensPerSecond, double ThroughputSigma)
{
    private static readonly string[] FastMarkers = ["mini", "nano", "flash", "haiku", "small", "lite", "instant", "8b"];
    private static readonly string[] SlowMarkers = ["opus", "pro", "o1", "o3", "large", "405b", "reasoning"];

    /// <summary>The model family's defaults, with <paramref name="overrides"/> (from the scenario) on top.</summary>
    public static LatencyModel For(string model, LatencyOverride? overrides)
    {
        // Markers are whole words of the name: "gemini" is not a "mini" model.
        var words = model.ToLowerInvariant().Split(['-', '.', '_', ' ', '/', ':'], StringSplitOptions.RemoveEmptyEntries);
        var family = FastMarkers.Any(words.Contains)
            ? new LatencyModel(250, 0.35, 150, 0.15)
            : SlowMarkers.Any(words.Contains)
                ? new LatencyModel(900, 0.45, 45, 0.2)
                : new LatencyModel(450, 0.4, 80, 0.15);
        return overrides is null
            ? family
            : family with
            {
                TtftMedianMs = overrides.TtftMs ?? family.TtftMedianMs,
                TokensPerSecond = overrides.TokensPerSecond ?? family.TokensPerSecond,
            };
    }

    /// <summary>The time to first token for standard-normal draw <paramref name="z"/> (clamped to ±3 sigma).</summary>
    public TimeSpan Ttft(double z) => TimeSpan.FromMilliseconds(TtftMedianMs * Math.Exp(TtftSigma * Math.Clamp(z, -3, 3)));

    /// <summary>The throughput (tokens per second) for standard-normal draw <paramref name="z"/>.</summary>
    public double Throughput(double z) => TokensPerSecond * Math.Exp(ThroughputSigma * Math.Clamp(z, -3, 3));
}
