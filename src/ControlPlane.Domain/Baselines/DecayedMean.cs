namespace ControlPlane.Domain.Baselines;

/// <summary>An exponentially time-decayed mean: weights fall by e every <c>horizon</c>. Keeping the weight sum
/// as well as the weighted sum makes it unbiased from the first observation (no slow start from zero).</summary>
public struct DecayedMean
{
    /// <summary>Decayed sum of observed values.</summary>
    public double WeightedSum { get; private set; }

    /// <summary>Decayed sum of weights.</summary>
    public double Weight { get; private set; }

    /// <summary>Time of the last observation.</summary>
    public DateTimeOffset? LastAt { get; private set; }

    /// <summary>Observations ever made.</summary>
    public long Observations { get; private set; }

    /// <summary>The mean; null before the first observation.</summary>
    public readonly double? Mean => Weight > 0 ? WeightedSum / Weight : null;

    /// <summary>Adds <paramref name="value"/> observed at <paramref name="at"/>; older observations decay by the
    /// time since the last one (out-of-order observations do not decay anything).</summary>
    public void Observe(double value, DateTimeOffset at, TimeSpan horizon)
    {
        if (LastAt is { } last && at > last)
        {
            var decay = Math.Exp(-(at - last).Ticks / (double)horizon.Ticks);
            WeightedSum *= decay;
            Weight *= decay;
        }

        WeightedSum += value;
        Weight += 1;
        LastAt = LastAt is { } l && l > at ? l : at;
        Observations++;
    }

    /// <summary>Restores persisted state.</summary>
    public static DecayedMean Restore(double weightedSum, double weight, DateTimeOffset? lastAt, long observations) =>
        new() { WeightedSum = weightedSum, Weight = weight, LastAt = lastAt, Observations = observations };
}
