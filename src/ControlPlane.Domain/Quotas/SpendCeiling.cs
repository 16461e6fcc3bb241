namespace ControlPlane.Domain.Quotas;

/// <summary>A workload class's spend ceilings (<c>budget: { usd_per_day, usd_per_month }</c> in the fleet file), over
/// calendar windows in UTC: the day starts at 00:00 UTC, the month on its first day at 00:00 UTC. Zero means no
/// ceiling in that window. Amounts are kept as whole nano-dollars (<see cref="SpendUnits"/>).</summary>
public sealed record SpendCeiling
{
    /// <summary>Largest ceiling a class may declare, in US dollars (keeps every sum of nano-dollars far below
    /// <see cref="long.MaxValue"/>).</summary>
    public const decimal MaxUsd = 1_000_000_000m;

    /// <summary>US dollars the class may spend per UTC day; 0 for no daily ceiling.</summary>
    /// <value>Between 0 and <see cref="MaxUsd"/>. Defaults to 0.</value>
    public decimal UsdPerDay { get; init; }

    /// <summary>US dollars the class may spend per UTC calendar month; 0 for no monthly ceiling.</summary>
    /// <value>Between 0 and <see cref="MaxUsd"/>. Defaults to 0.</value>
    public decimal UsdPerMonth { get; init; }

    /// <summary>True when at least one window has a ceiling.</summary>
    public bool IsLimited => UsdPerDay > 0 || UsdPerMonth > 0;

    /// <summary>The daily ceiling in nano-dollars (0: none).</summary>
    public long DayNanos => SpendUnits.FromUsd(UsdPerDay);

    /// <summary>The monthly ceiling in nano-dollars (0: none).</summary>
    public long MonthNanos => SpendUnits.FromUsd(UsdPerMonth);

    /// <summary>Checks the ceilings; on failure names the field (camelCase, as in the policy) and the problem.</summary>
    public bool TryValidate(out string field, out string message)
    {
        (field, message) = (UsdPerDay, UsdPerMonth) switch
        {
            ( < 0 or > MaxUsd, _) => ("spend.usdPerDay", $"must be between 0 and {MaxUsd:0}"),
            (_, < 0 or > MaxUsd) => ("spend.usdPerMonth", $"must be between 0 and {MaxUsd:0}"),
            _ => ("", ""),
        };
        return field.Length == 0;
    }
}

/// <summary>Money as the spend ledgers count it: whole nano-dollars (10⁻⁹ USD) in a <see cref="long"/>. Every price in
/// the sample fleet is a whole number of nano-dollars per 1,000 tokens, so costs are exact integers; a finer price is
/// rounded up (a cost is never under-counted).</summary>
public static class SpendUnits
{
    /// <summary>Nano-dollars per US dollar.</summary>
    public const long NanosPerUsd = 1_000_000_000;

    /// <summary>The largest cost one request is counted at; a larger figure saturates here, so a sum of a few costs
    /// can never overflow (and a request costing this much can never be paid).</summary>
    public const long MaxCost = long.MaxValue / 4;

    /// <summary>Whole nano-dollars of <paramref name="usd"/>, rounded up; saturates at <see cref="MaxCost"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The amount is negative.</exception>
    public static long FromUsd(decimal usd)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(usd);
        return usd >= MaxCost / (decimal)NanosPerUsd ? MaxCost : (long)decimal.Ceiling(usd * NanosPerUsd);
    }

    /// <summary>US dollars of <paramref name="nanos"/>.</summary>
    public static decimal ToUsd(long nanos) => nanos / (decimal)NanosPerUsd;
}

/// <summary>An endpoint's price in nano-dollars per 1,000 input and output tokens (its <c>price_per_1k</c>).</summary>
/// <param name="InputNanosPer1k">Nano-dollars per 1,000 input tokens.</param>
/// <param name="OutputNanosPer1k">Nano-dollars per 1,000 output tokens.</param>
public readonly record struct SpendPrice(long InputNanosPer1k, long OutputNanosPer1k)
{
    /// <summary>The price of <paramref name="perThousandInputUsd"/> / <paramref name="perThousandOutputUsd"/> dollars per
    /// 1,000 tokens (negative prices count as free).</summary>
    public static SpendPrice FromUsd(decimal perThousandInputUsd, decimal perThousandOutputUsd) =>
        new(SpendUnits.FromUsd(Math.Max(0, perThousandInputUsd)), SpendUnits.FromUsd(Math.Max(0, perThousandOutputUsd)));

    /// <summary>What <paramref name="inputTokens"/> and <paramref name="outputTokens"/> cost, in nano-dollars, rounded up;
    /// saturates at <see cref="SpendUnits.MaxCost"/> (negative token counts count as zero). Allocation-free.</summary>
    public long Cost(long inputTokens, long outputTokens)
    {
        Int128 total = ((Int128)Math.Max(0, inputTokens) * InputNanosPer1k) + ((Int128)Math.Max(0, outputTokens) * OutputNanosPer1k);
        Int128 nanos = (total + 999) / 1000;
        return nanos >= SpendUnits.MaxCost ? SpendUnits.MaxCost : (long)nanos;
    }

    /// <summary>What <paramref name="reservation"/> costs (its estimated input and maximum output tokens).</summary>
    public long Cost(in TokenReservation reservation) => Cost(reservation.InputTokens, reservation.OutputTokens);
}
