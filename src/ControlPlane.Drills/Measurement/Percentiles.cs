namespace ControlPlane.Drills.Measurement;

/// <summary>Nearest-rank percentiles.</summary>
internal static class Percentiles
{
    /// <summary>The <paramref name="p"/> quantile (0..1) of <paramref name="values"/>; null when empty.</summary>
    public static double? Of(IEnumerable<double> values, double p)
    {
        var sorted = values.Where(double.IsFinite).Order().ToArray();
        if (sorted.Length == 0)
        {
            return null;
        }

        var rank = (int)Math.Ceiling(p * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }
}
