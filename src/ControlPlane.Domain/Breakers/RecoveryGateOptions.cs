using ControlPlane.Domain.Health;

namespace ControlPlane.Domain.Breakers;

/// <summary>The recovery gate of an endpoint's breaker (the seeds' "a tripped endpoint must pass its golden set before
/// traffic shifts back"): once an open breaker's cooldown has elapsed it stays open until the synthetic outcomes of a
/// prober (golden-set answers, graded) received after the cooldown show the endpoint answers correctly again: either
/// <see cref="MinProbes"/> consecutive passes, or a pass rate of at least <see cref="PassRate"/> over at least
/// <see cref="MinProbes"/> synthetic outcomes. Only then does the breaker turn half-open (real probes, then the ramp).</summary>
public sealed class RecoveryGateOptions
{
    private const string Name = nameof(RecoveryGateOptions);

    /// <summary>The most <see cref="MinProbes"/> may be (bounds what a fleet file can ask for).</summary>
    public const int MaxMinProbes = 1000;

    /// <summary>Synthetic outcomes (after the cooldown) the gate needs: that many consecutive passes, or at least that many
    /// outcomes at <see cref="PassRate"/>.</summary>
    /// <value>Between 1 and 1,000. Defaults to 5.</value>
    public int MinProbes { get; set; } = 5;

    /// <summary>Share of passing synthetic outcomes (since the cooldown ended) that opens the gate once
    /// <see cref="MinProbes"/> arrived.</summary>
    /// <value>Greater than 0 and at most 1. Defaults to 0.8.</value>
    public double PassRate { get; set; } = 0.8;

    /// <summary>When no synthetic outcome at all arrived this long after the cooldown ended, the gate lets the breaker
    /// turn half-open anyway (the prober is down: an endpoint is not held out forever by a missing prober; failing
    /// probes, on the other hand, keep it out). Zero: never.</summary>
    /// <value>Not negative. Defaults to 15 min.</value>
    public TimeSpan ReleaseWithoutProbesAfter { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first invalid option.</summary>
    public RecoveryGateOptions Validate()
    {
        if (MinProbes is < 1 or > MaxMinProbes)
        {
            OptionRules.Fail($"{Name}.{nameof(MinProbes)}", MinProbes, $"must be between 1 and {MaxMinProbes}");
        }

        if (!(PassRate > 0 && PassRate <= 1))
        {
            OptionRules.Fail($"{Name}.{nameof(PassRate)}", PassRate, "must be greater than 0 and at most 1");
        }

        OptionRules.NotNegative(ReleaseWithoutProbesAfter, $"{Name}.{nameof(ReleaseWithoutProbesAfter)}");
        return this;
    }
}
