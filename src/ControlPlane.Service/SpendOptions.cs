using ControlPlane.Domain.Slo;

namespace ControlPlane.Service;

/// <summary>Options of the workload classes' spend ceilings (<c>budget: { usd_per_day, usd_per_month }</c>).</summary>
public sealed class SpendOptions
{
    /// <summary>Share of a class's ceiling (the smaller of the daily and monthly ones) a node asks for in one spend
    /// lease. Smaller slices strand less money on idle nodes and make the 80 %/100 % alerts more exact; larger ones
    /// mean fewer lease calls.
    /// <value>In (0, 1]. Defaults to 0.01 (1 % of the daily ceiling per node and lease).</value></summary>
    public double SliceFraction { get; set; } = 0.01;

    /// <summary>The runaway-cost signal (cost per successful request against the class's baseline).</summary>
    public RunawayCostOptions RunawayCost { get; set; } = new();

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first bad option.</summary>
    public SpendOptions Validate()
    {
        if (!(SliceFraction > 0 && SliceFraction <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(SliceFraction), SliceFraction, "ControlPlaneOptions.Spend.SliceFraction must be in (0, 1].");
        }

        ArgumentNullException.ThrowIfNull(RunawayCost, nameof(RunawayCost));
        RunawayCost.Validate();
        return this;
    }
}
