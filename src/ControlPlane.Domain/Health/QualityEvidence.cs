namespace ControlPlane.Domain.Health;

/// <summary>Quality verdicts over some span of a <see cref="HealthWindow"/> (see <see cref="HealthWindow.WeakestQuality"/>).</summary>
/// <param name="Passes">Verdicts that passed.</param>
/// <param name="Verdicts">Verdicts (pass + fail).</param>
public readonly record struct QualityEvidence(long Passes, long Verdicts)
{
    /// <summary>Passes / verdicts; null without verdicts.</summary>
    public double? PassRate => Verdicts > 0 ? (double)Passes / Verdicts : null;

    /// <summary>The upper Wilson score bound of the pass rate at <paramref name="z"/> standard deviations (the plain pass
    /// rate at 0); 1 without verdicts. The true pass rate is under it with the confidence <paramref name="z"/> gives.</summary>
    public double UpperBound(double z)
    {
        if (Verdicts <= 0)
        {
            return 1;
        }

        double n = Verdicts;
        var p = Passes / n;
        var z2 = z * z;
        var centre = p + (z2 / (2 * n));
        var spread = z * Math.Sqrt((p * (1 - p) / n) + (z2 / (4 * n * n)));
        return Math.Min(1, (centre + spread) / (1 + (z2 / n)));
    }
}
