using ControlPlane.Domain.Health;

namespace ControlPlane.Domain.Slo;

/// <summary>Thresholds of the <c>provider-output-length</c> alert (<see cref="OutputLengthWatch"/>): the mean output
/// tokens per successful answer over a short window against the endpoint's rolling baseline of the same.</summary>
public sealed class OutputLengthOptions
{
    private const string Name = nameof(OutputLengthOptions);

    /// <summary>Multiple of the baseline the recent mean must exceed for the alert to fire.</summary>
    /// <value>Greater than 1, at most 1000. Defaults to 3.</value>
    public double Factor { get; set; } = 3.0;

    /// <summary>Span the recent mean is read over (clamped to the health window).</summary>
    /// <value>Positive. Defaults to 2 min.</value>
    public TimeSpan Window { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Successful answers the recent window needs before it is judged.</summary>
    /// <value>At least 1. Defaults to 20.</value>
    public int MinSuccesses { get; set; } = 20;

    /// <summary>Successful answers the baseline must have learned (or a seed stands for) before it is trusted.</summary>
    /// <value>At least 1. Defaults to 20.</value>
    public int MinBaselineSuccesses { get; set; } = 20;

    /// <summary>Time constant of the baseline's exponential decay: answers this old weigh 1/e of fresh ones.</summary>
    /// <value>Between 1 min and 90 days. Defaults to 1 day.</value>
    public TimeSpan Horizon { get; set; } = TimeSpan.FromDays(1);

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first invalid option.</summary>
    public OutputLengthOptions Validate()
    {
        OptionRules.InRange(Factor, 1 + 1e-9, 1000, $"{Name}.{nameof(Factor)}");
        OptionRules.Positive(Window, $"{Name}.{nameof(Window)}");
        OptionRules.AtLeast(MinSuccesses, 1, $"{Name}.{nameof(MinSuccesses)}");
        OptionRules.AtLeast(MinBaselineSuccesses, 1, $"{Name}.{nameof(MinBaselineSuccesses)}");
        if (Horizon < TimeSpan.FromMinutes(1) || Horizon > TimeSpan.FromDays(90))
        {
            OptionRules.Fail($"{Name}.{nameof(Horizon)}", Horizon, "must be between 1 min and 90 days");
        }

        return this;
    }
}
