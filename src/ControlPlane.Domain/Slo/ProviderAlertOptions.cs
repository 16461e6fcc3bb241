using ControlPlane.Domain.Health;

namespace ControlPlane.Domain.Slo;

/// <summary>Thresholds of the provider health alerts raised from an endpoint's window and baselines.</summary>
public sealed class ProviderAlertOptions
{
    private const string Name = nameof(ProviderAlertOptions);

    /// <summary>Error rate that pages.</summary>
    /// <value>Strictly between 0 and 1. Defaults to 0.05.</value>
    public double ErrorRateThreshold { get; set; } = 0.05;

    /// <summary>Window of the error-rate alert.</summary>
    /// <value>Defaults to 5 min.</value>
    public TimeSpan ErrorRateWindow { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Served requests the error-rate window needs.</summary>
    /// <value>At least 1. Defaults to 20.</value>
    public int MinRequests { get; set; } = 20;

    /// <summary>Multiple of the p95 baseline that pages when sustained.</summary>
    /// <value>Greater than 1. Defaults to 2.</value>
    public double LatencyFactor { get; set; } = 2.0;

    /// <summary>Span each latency check reads its p95 from.</summary>
    /// <value>Defaults to 1 min.</value>
    public TimeSpan LatencyWindow { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How long the latency condition must hold before it fires.</summary>
    /// <value>Not negative. Defaults to 3 min.</value>
    public TimeSpan LatencyFor { get; set; } = TimeSpan.FromMinutes(3);

    /// <summary>Latency samples a latency check needs.</summary>
    /// <value>At least 1. Defaults to 20.</value>
    public int MinLatencySamples { get; set; } = 20;

    /// <summary>Share of 429s that pages.</summary>
    /// <value>Strictly between 0 and 1. Defaults to 0.02.</value>
    public double RateLimitedThreshold { get; set; } = 0.02;

    /// <summary>Window of the 429 alert.</summary>
    /// <value>Defaults to 2 min.</value>
    public TimeSpan RateLimitedWindow { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Relative rise of cost per successful task over its baseline that opens a ticket.</summary>
    /// <value>Positive, at most 10. Defaults to 0.20.</value>
    public double CostIncreaseFraction { get; set; } = 0.20;

    /// <summary>Relative drop of the quality pass rate under its baseline that opens a ticket.</summary>
    /// <value>Strictly between 0 and 1. Defaults to 0.15.</value>
    public double QualityDropFraction { get; set; } = 0.15;

    /// <summary>Window of the cost and quality alerts.</summary>
    /// <value>Defaults to 5 min.</value>
    public TimeSpan TrendWindow { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Successes or verdicts the cost and quality checks need.</summary>
    /// <value>At least 1. Defaults to 50.</value>
    public int MinTrendSamples { get; set; } = 50;

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first invalid option; windows must be positive.</summary>
    public ProviderAlertOptions Validate()
    {
        OptionRules.Fraction(ErrorRateThreshold, $"{Name}.{nameof(ErrorRateThreshold)}");
        OptionRules.Positive(ErrorRateWindow, $"{Name}.{nameof(ErrorRateWindow)}");
        OptionRules.AtLeast(MinRequests, 1, $"{Name}.{nameof(MinRequests)}");
        OptionRules.InRange(LatencyFactor, 1 + 1e-9, 1000, $"{Name}.{nameof(LatencyFactor)}");
        OptionRules.Positive(LatencyWindow, $"{Name}.{nameof(LatencyWindow)}");
        OptionRules.NotNegative(LatencyFor, $"{Name}.{nameof(LatencyFor)}");
        OptionRules.AtLeast(MinLatencySamples, 1, $"{Name}.{nameof(MinLatencySamples)}");
        OptionRules.Fraction(RateLimitedThreshold, $"{Name}.{nameof(RateLimitedThreshold)}");
        OptionRules.Positive(RateLimitedWindow, $"{Name}.{nameof(RateLimitedWindow)}");
        OptionRules.InRange(CostIncreaseFraction, 1e-9, 10, $"{Name}.{nameof(CostIncreaseFraction)}");
        OptionRules.Fraction(QualityDropFraction, $"{Name}.{nameof(QualityDropFraction)}");
        OptionRules.Positive(TrendWindow, $"{Name}.{nameof(TrendWindow)}");
        OptionRules.AtLeast(MinTrendSamples, 1, $"{Name}.{nameof(MinTrendSamples)}");
        return this;
    }

    internal TimeSpan LongestWindow =>
        new[] { ErrorRateWindow, LatencyWindow, RateLimitedWindow, TrendWindow }.Max();
}
