using ControlPlane.Domain.Quotas;

namespace ControlPlane.Service.Federation.Quotas;

/// <summary>Global quotas across regions (<c>docs/regions.md</c>, "Global quotas"): how region leases are timed and sized.</summary>
public sealed class RegionQuotaOptions
{
    /// <summary>Region lease timing (a lease lives 20 s and is renewed 12 s before it expires by default).</summary>
    public RegionLeaseOptions Lease { get; set; } = new();

    /// <summary>How often a follower region's endpoint grain checks its region lease (renewal, settlements).</summary>
    /// <value>Between 100 ms and 5 s. Defaults to 1 s.</value>
    public TimeSpan CheckInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Deadline of one call to the home region.</summary>
    /// <value>Between 100 ms and 10 s. Defaults to 2 s.</value>
    public TimeSpan CallTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>The smallest region lease a follower asks for, as a share of the limit (its nodes' asks over the last
    /// renewal, scaled to a lease's life, when larger).</summary>
    /// <value>In (0, 1]. Defaults to 0.1.</value>
    public double MinAskFraction { get; set; } = 0.1;

    /// <summary>The follower renews when less than this share of its newest region lease is left uncarved.</summary>
    /// <value>In (0, 1). Defaults to 0.25.</value>
    public double LowWaterFraction { get; set; } = 0.25;

    /// <summary>Throws <see cref="ArgumentException"/> naming the offending field.</summary>
    public void Validate()
    {
        ArgumentNullException.ThrowIfNull(Lease);
        Lease.Validate(TimeSpan.FromMinutes(1));
        if (CheckInterval < TimeSpan.FromMilliseconds(100) || CheckInterval > TimeSpan.FromSeconds(5))
        {
            throw new ArgumentException("RegionQuota: CheckInterval must be between 100 ms and 5 s.", nameof(CheckInterval));
        }

        if (CallTimeout < TimeSpan.FromMilliseconds(100) || CallTimeout > TimeSpan.FromSeconds(10))
        {
            throw new ArgumentException("RegionQuota: CallTimeout must be between 100 ms and 10 s.", nameof(CallTimeout));
        }

        if (!(MinAskFraction > 0 && MinAskFraction <= 1))
        {
            throw new ArgumentException("RegionQuota: MinAskFraction must be in (0, 1].", nameof(MinAskFraction));
        }

        if (!(LowWaterFraction > 0 && LowWaterFraction < 1))
        {
            throw new ArgumentException("RegionQuota: LowWaterFraction must be in (0, 1).", nameof(LowWaterFraction));
        }
    }
}
