using ControlPlane.Domain.Health;

namespace ControlPlane.Domain.Baselines;

/// <summary>How long-horizon baselines decay and when they are trusted.</summary>
public sealed class BaselineOptions
{
    /// <summary>Time constant of the exponential decay: an observation this old weighs 1/e of a fresh one.</summary>
    /// <value>Between 1 min and 90 days. Defaults to 7 days.</value>
    public TimeSpan Horizon { get; set; } = TimeSpan.FromDays(7);

    /// <summary>Observations a metric needs before its baseline is published (and rules may use it).</summary>
    /// <value>At least 1. Defaults to 30 (half an hour of one-minute feeds).</value>
    public int MinObservations { get; set; } = 30;

    /// <summary>Samples a snapshot needs for a metric to be observed (latency samples, verdicts, successes).</summary>
    /// <value>At least 1. Defaults to 20.</value>
    public int MinSamplesPerObservation { get; set; } = 20;

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first invalid option.</summary>
    public BaselineOptions Validate()
    {
        if (Horizon < TimeSpan.FromMinutes(1) || Horizon > TimeSpan.FromDays(90))
        {
            OptionRules.Fail($"{nameof(BaselineOptions)}.{nameof(Horizon)}", Horizon, "must be between 1 min and 90 days");
        }

        OptionRules.AtLeast(MinObservations, 1, $"{nameof(BaselineOptions)}.{nameof(MinObservations)}");
        OptionRules.AtLeast(MinSamplesPerObservation, 1, $"{nameof(BaselineOptions)}.{nameof(MinSamplesPerObservation)}");
        return this;
    }
}
