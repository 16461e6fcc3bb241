namespace ControlPlane.Domain.Quotas;

/// <summary>A slice of an endpoint's bucket granted to one node, spendable locally until it expires.</summary>
/// <param name="Id">Ledger-assigned id, unique per ledger, increasing; 0 is never used.</param>
/// <param name="NodeId">The node holding the slice.</param>
/// <param name="Tokens">Tokens granted.</param>
/// <param name="Requests">Requests granted.</param>
/// <param name="GrantedAt">When the ledger granted it.</param>
/// <param name="ExpiresAt">When the ledger forfeits whatever the node has not returned.</param>
public readonly record struct QuotaLease(long Id, string NodeId, long Tokens, long Requests, DateTimeOffset GrantedAt, DateTimeOffset ExpiresAt);

/// <summary>What a node hands back when it closes (returns or renews) a lease.</summary>
/// <param name="LeaseId">The lease being closed; 0 when the node held none (a carry-only settlement).</param>
/// <param name="UnusedTokens">Tokens granted but not spent.</param>
/// <param name="UnusedRequests">Requests granted but not spent.</param>
/// <param name="CarriedTokens">Reconciliation the lease could not absorb: positive = extra tokens used
/// beyond reservations (charge them), negative = refunds for reservations of an earlier lease (credit them).</param>
public readonly record struct LeaseSettlement(long LeaseId, long UnusedTokens, long UnusedRequests, long CarriedTokens);

/// <summary>How leases are carved and renewed.</summary>
public sealed record LeaseOptions
{
    /// <summary>How long a lease lives at the ledger.</summary>
    /// <value>Between 100 ms and the bucket period. Defaults to 10 s.</value>
    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The node stops spending this long before the ledger's expiry, to absorb clock skew.</summary>
    /// <value>Between 0 and half of <see cref="Duration"/>. Defaults to 500 ms.</value>
    public TimeSpan SafetyMargin { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>The node asks for a renewal when less than this fraction of its slice is left.</summary>
    /// <value>In (0, 1). Defaults to 0.25.</value>
    public double LowWaterFraction { get; init; } = 0.25;

    /// <summary>The node asks for a renewal when its lease expires within this time.</summary>
    /// <value>Between 0 and <see cref="Duration"/>. Defaults to 2 s.</value>
    public TimeSpan RenewBeforeExpiry { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Throws <see cref="ArgumentException"/> naming the offending field.</summary>
    public void Validate(TimeSpan bucketPeriod)
    {
        if (Duration < TimeSpan.FromMilliseconds(100) || Duration > bucketPeriod)
        {
            throw new ArgumentException("duration: must be between 100 ms and the bucket period", nameof(Duration));
        }

        if (SafetyMargin < TimeSpan.Zero || SafetyMargin > Duration / 2)
        {
            throw new ArgumentException("safetyMargin: must be between 0 and half the duration", nameof(SafetyMargin));
        }

        if (!(LowWaterFraction > 0 && LowWaterFraction < 1))
        {
            throw new ArgumentException("lowWaterFraction: must be in (0, 1)", nameof(LowWaterFraction));
        }

        if (RenewBeforeExpiry < TimeSpan.Zero || RenewBeforeExpiry > Duration)
        {
            throw new ArgumentException("renewBeforeExpiry: must be between 0 and the duration", nameof(RenewBeforeExpiry));
        }
    }
}
