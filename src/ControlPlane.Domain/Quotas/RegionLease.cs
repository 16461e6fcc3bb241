namespace ControlPlane.Domain.Quotas;

/// <summary>A slice of a remote-homed endpoint's limit granted by its home region to another region, spendable by that
/// region's nodes until it expires. A lease with zero units is valid: it renews the region's partition right
/// (see <see cref="RegionLeaseLedger"/>) without handing out any of the limit.</summary>
/// <param name="Id">Home-assigned id, unique per endpoint, increasing; 0 is never used.</param>
/// <param name="Region">The region holding it.</param>
/// <param name="Tokens">Tokens granted.</param>
/// <param name="Requests">Requests granted.</param>
/// <param name="GrantedAt">When the home granted it (home clock).</param>
/// <param name="ExpiresAt">When the home forfeits whatever the region has not returned (home clock).</param>
public readonly record struct RegionLease(long Id, string Region, long Tokens, long Requests, DateTimeOffset GrantedAt, DateTimeOffset ExpiresAt);

/// <summary>How region leases are sized in time and what a cut-off region may fall back to.</summary>
public sealed record RegionLeaseOptions
{
    /// <summary>How long a region lease lives at home.</summary>
    /// <value>Between 1 s and the bucket period. Defaults to 20 s.</value>
    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>The follower renews its region lease when it expires within this time (or runs low).</summary>
    /// <value>More than half of <see cref="Duration"/> and less than it, so each renewal proves the previous grant installed
    /// before the lease the home last saw proved expires (see <see cref="RegionLeaseLedger"/>). Defaults to 12 s.</value>
    public TimeSpan RenewBeforeExpiry { get; init; } = TimeSpan.FromSeconds(12);

    /// <summary>Throws <see cref="ArgumentException"/> naming the offending field.</summary>
    public void Validate(TimeSpan bucketPeriod)
    {
        if (Duration < TimeSpan.FromSeconds(1) || Duration > bucketPeriod)
        {
            throw new ArgumentException("duration: must be between 1 s and the bucket period", nameof(Duration));
        }

        if (RenewBeforeExpiry <= Duration / 2 || RenewBeforeExpiry >= Duration)
        {
            throw new ArgumentException("renewBeforeExpiry: must be more than half the duration and less than it", nameof(RenewBeforeExpiry));
        }
    }
}

/// <summary>The partition share arithmetic both sides of a region lease compute identically, so what the home reserves for a
/// cut-off region is never less than what that region may spend.</summary>
public static class PartitionShare
{
    /// <summary>The default share of a limit a region may use once its region lease expired unrenewed:
    /// 1 / (2 × number of regions).</summary>
    public static double Default(int regions)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(regions);
        return 1.0 / (2.0 * regions);
    }

    /// <summary>Checks a share: in (0, 1].</summary>
    public static bool IsValid(double share) => share > 0 && share <= 1 && double.IsFinite(share);

    /// <summary>The partition limits: each limited dimension's capacity times <paramref name="share"/>, rounded down but at
    /// least 1 (a limited dimension stays limited); an unlimited dimension stays unlimited.</summary>
    public static QuotaLimits Limits(QuotaLimits limits, double share)
    {
        ArgumentNullException.ThrowIfNull(limits);
        if (!IsValid(share))
        {
            throw new ArgumentOutOfRangeException(nameof(share), share, "partition share must be in (0, 1]");
        }

        return limits with
        {
            TokensPerPeriod = Scale(limits.TokensPerPeriod, share),
            RequestsPerPeriod = Scale(limits.RequestsPerPeriod, share),
        };
    }

    private static long Scale(long capacity, double share) =>
        capacity <= 0 ? 0 : Math.Max(1, (long)Math.Floor(capacity * share));
}
