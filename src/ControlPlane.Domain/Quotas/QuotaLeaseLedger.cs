namespace ControlPlane.Domain.Quotas;

/// <summary>
/// The bucket side of quota leases (held by the endpoint grain): grants nodes slices carved out of the
/// endpoint's <see cref="RateQuota"/>, takes back what they return, forfeits what they do not return in
/// time. Because slices are carved (held) from the bucket and held units are never refilled,
/// <c>level + outstanding grants &lt;= capacity</c> at every instant: the cluster as a whole can never admit
/// more than a single bucket would (zero lease slack).
/// </summary>
public sealed class QuotaLeaseLedger
{
    private readonly RateQuota _quota;
    private readonly LeaseOptions _options;
    private readonly TimeProvider _time;
    private readonly Dictionary<long, QuotaLease> _live = [];
    private long _nextId = 1;

    /// <summary>Creates a ledger over <paramref name="quota"/>.</summary>
    public QuotaLeaseLedger(RateQuota quota, LeaseOptions options, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(quota);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        options.Validate(quota.Limits.Period);
        _quota = quota;
        _options = options;
        _time = time;
    }

    /// <summary>The quota the slices are carved from.</summary>
    public RateQuota Quota => _quota;

    /// <summary>Leases granted and not yet returned or forfeited.</summary>
    public int LiveCount => _live.Count;

    /// <summary>Tokens in live leases (an upper bound of what nodes can still spend).</summary>
    public long OutstandingTokens => _quota.Tokens?.Held ?? 0;

    /// <summary>Requests in live leases.</summary>
    public long OutstandingRequests => _quota.Requests?.Held ?? 0;

    /// <summary>Grants <paramref name="nodeId"/> up to the asked slice, less if the bucket holds less.
    /// Fails (no lease) when nothing at all can be granted in a limited dimension.</summary>
    public bool TryGrant(string nodeId, long tokens, long requests, out QuotaLease lease)
    {
        ArgumentException.ThrowIfNullOrEmpty(nodeId);
        ArgumentOutOfRangeException.ThrowIfNegative(tokens);
        ArgumentOutOfRangeException.ThrowIfNegative(requests);
        ExpireDue();
        long grantTokens = _quota.Tokens is { } t ? Math.Min(tokens, t.Available) : tokens;
        long grantRequests = _quota.Requests is { } r ? Math.Min(requests, r.Available) : requests;
        if ((_quota.Tokens is not null && tokens > 0 && grantTokens == 0)
            || (_quota.Requests is not null && requests > 0 && grantRequests == 0))
        {
            lease = default;
            return false;
        }

        _quota.Tokens?.TryHold(grantTokens);
        _quota.Requests?.TryHold(grantRequests);
        var now = _time.GetUtcNow();
        lease = new QuotaLease(_nextId++, nodeId, grantTokens, grantRequests, now, now + _options.Duration);
        _live.Add(lease.Id, lease);
        return true;
    }

    /// <summary>Closes a lease with what the node reports: unused units go back to the bucket (if the lease
    /// is still live; an expired lease was already forfeited), carried reconciliation is charged or credited
    /// whatever the lease's state so the ledger stays exact. Returns false if the lease was not live.</summary>
    public bool Settle(in LeaseSettlement settlement)
    {
        ExpireDue();
        bool live = _live.Remove(settlement.LeaseId, out var lease);
        if (live)
        {
            // A node cannot give back more than it was granted, whatever it claims.
            _quota.Tokens?.EndHold(lease.Tokens, Math.Clamp(settlement.UnusedTokens, 0, lease.Tokens));
            _quota.Requests?.EndHold(lease.Requests, Math.Clamp(settlement.UnusedRequests, 0, lease.Requests));
        }

        if (settlement.CarriedTokens > 0)
        {
            _quota.Tokens?.Charge(settlement.CarriedTokens);
        }
        else if (settlement.CarriedTokens < 0)
        {
            _quota.Tokens?.Refund(-settlement.CarriedTokens);
        }

        return live;
    }

    /// <summary>Settles the current lease and grants a fresh one in one step (a node below its low-water mark).</summary>
    public bool TryRenew(string nodeId, in LeaseSettlement settlement, long tokens, long requests, out QuotaLease lease)
    {
        Settle(settlement);
        return TryGrant(nodeId, tokens, requests, out lease);
    }

    /// <summary>Forfeits every lease past its expiry: its units stay charged (the node may have spent them)
    /// and the hold ends, so refill resumes. Returns how many were forfeited.</summary>
    public int ExpireDue()
    {
        var now = _time.GetUtcNow();
        int expired = 0;
        foreach (var lease in _live.Values)
        {
            if (lease.ExpiresAt <= now)
            {
                expired++;
            }
        }

        if (expired == 0)
        {
            return 0;
        }

        var due = new List<QuotaLease>(expired);
        foreach (var lease in _live.Values)
        {
            if (lease.ExpiresAt <= now)
            {
                due.Add(lease);
            }
        }

        foreach (var lease in due)
        {
            _live.Remove(lease.Id);
            _quota.Tokens?.EndHold(lease.Tokens, 0);
            _quota.Requests?.EndHold(lease.Requests, 0);
        }

        return expired;
    }
}
