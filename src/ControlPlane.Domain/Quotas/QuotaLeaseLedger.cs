namespace ControlPlane.Domain.Quotas;

/// <summary>
/// The bucket side of quota leases (held by the endpoint grain): grants nodes slices carved out of the
/// endpoint's <see cref="RateQuota"/>, takes back what they return, forfeits what they do not return in
/// time. Because slices are carved (held) from the bucket and held units are never refilled,
/// <c>level + outstanding grants &lt;= capacity</c> at every instant: the cluster as a whole can never admit
/// more than a single bucket would (zero lease slack). <see cref="Export"/> and <see cref="Restore"/> carry that invariant
/// across an activation move: the new owner holds the same leases and the same level, not a full bucket.
/// </summary>
public sealed class QuotaLeaseLedger
{
    private readonly RateQuota _quota;
    private readonly LeaseOptions _options;
    private readonly TimeProvider _time;
    private readonly Dictionary<long, HeldLease> _live = [];
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

    /// <summary>The live leases, by id.</summary>
    public IEnumerable<QuotaLease> LiveLeases => _live.Values.Select(held => held.Lease).OrderBy(lease => lease.Id);

    /// <summary>Tokens in live leases (an upper bound of what nodes can still spend).</summary>
    public long OutstandingTokens => _quota.Tokens?.Held ?? 0;

    /// <summary>Requests in live leases.</summary>
    public long OutstandingRequests => _quota.Requests?.Held ?? 0;

    /// <summary>Grants <paramref name="nodeId"/> up to the asked slice, less if the bucket holds less.
    /// Fails (no lease) when nothing at all can be granted in a limited dimension.</summary>
    public bool TryGrant(string nodeId, long tokens, long requests, out QuotaLease lease) =>
        TryGrant(nodeId, tokens, requests, _options.Duration, out lease);

    /// <summary><see cref="TryGrant(string, long, long, out QuotaLease)"/> for a lease living <paramref name="duration"/>
    /// instead of the ledger's default (a region lease, see <see cref="RegionLeaseLedger"/>).</summary>
    public bool TryGrant(string nodeId, long tokens, long requests, TimeSpan duration, out QuotaLease lease)
    {
        ArgumentException.ThrowIfNullOrEmpty(nodeId);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(duration, TimeSpan.Zero);
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
        lease = new QuotaLease(_nextId++, nodeId, grantTokens, grantRequests, now, now + duration);
        _live.Add(lease.Id, new HeldLease(lease, _quota.Tokens is null ? 0 : grantTokens, _quota.Requests is null ? 0 : grantRequests));
        return true;
    }

    /// <summary>Closes a lease with what the node reports: unused units go back to the bucket (if the lease
    /// is still live; an expired lease was already forfeited), carried reconciliation is charged or credited
    /// whatever the lease's state so the ledger stays exact. Returns false if the lease was not live.</summary>
    public bool Settle(in LeaseSettlement settlement)
    {
        ExpireDue();
        bool live = false;
        if (_live.Remove(settlement.LeaseId, out var held))
        {
            live = true;
            _quota.Tokens?.EndHold(held.HeldTokens, Returned(held.HeldTokens, held.Lease.Tokens, settlement.UnusedTokens));
            _quota.Requests?.EndHold(held.HeldRequests, Returned(held.HeldRequests, held.Lease.Requests, settlement.UnusedRequests));
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
        foreach (var held in _live.Values)
        {
            if (held.Lease.ExpiresAt <= now)
            {
                expired++;
            }
        }

        if (expired == 0)
        {
            return 0;
        }

        var due = new List<HeldLease>(expired);
        foreach (var held in _live.Values)
        {
            if (held.Lease.ExpiresAt <= now)
            {
                due.Add(held);
            }
        }

        foreach (var held in due)
        {
            _live.Remove(held.Lease.Id);
            _quota.Tokens?.EndHold(held.HeldTokens, 0);
            _quota.Requests?.EndHold(held.HeldRequests, 0);
        }

        return expired;
    }

    /// <summary>Everything needed to carry this ledger over a restart or an activation move (see <see cref="Restore"/>).</summary>
    public QuotaLedgerSnapshot Export() =>
        new(_quota.Tokens?.Export(), _quota.Requests?.Export(), [.. _live.Values.OrderBy(held => held.Lease.Id)], _nextId);

    /// <summary>Replaces this ledger's state with <paramref name="snapshot"/>: the live leases stay held under their ids until
    /// they are settled (unused units come back once) or expire (forfeited), the buckets refill from the snapshot's instant
    /// to now, and ids continue after the snapshot's, never reused. Under unchanged limits the result is exactly the
    /// exported ledger. Under changed limits (the fleet changed): a dimension limited before and now keeps its holds and
    /// its unrefilled spend against the new capacity (see <see cref="TokenBucket.Restore"/>); a dimension limited only now
    /// starts full less what the leases (granted as asked while unlimited) are assumed to hold, up to the whole bucket,
    /// until they end; a dimension unlimited now is dropped.</summary>
    /// <exception cref="ArgumentException">The snapshot cannot come from a ledger (bad bucket figures, lease ids or amounts);
    /// the ledger is left unchanged.</exception>
    public void Restore(QuotaLedgerSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        ArgumentNullException.ThrowIfNull(snapshot.Leases);
        snapshot.Tokens?.Validate();
        snapshot.Requests?.Validate();
        var ids = new HashSet<long>();
        foreach (var held in snapshot.Leases)
        {
            ArgumentNullException.ThrowIfNull(held);
            var lease = held.Lease;
            if (lease.Id <= 0 || !ids.Add(lease.Id) || string.IsNullOrEmpty(lease.NodeId) || lease.Tokens < 0 || lease.Requests < 0
                || held.HeldTokens < 0 || held.HeldTokens > lease.Tokens || held.HeldRequests < 0 || held.HeldRequests > lease.Requests)
            {
                throw new ArgumentException($"ledger snapshot: lease {lease.Id} has a bad id, node or amount", nameof(snapshot));
            }
        }

        long tokensBudget = _quota.Tokens?.Capacity ?? 0;
        long requestsBudget = _quota.Requests?.Capacity ?? 0;
        long heldTokens = 0;
        long heldRequests = 0;
        long nextId = Math.Max(1, snapshot.NextLeaseId);
        _live.Clear();
        foreach (var saved in snapshot.Leases)
        {
            var lease = saved.Lease;
            var held = new HeldLease(
                lease,
                HeldOnRestore(_quota.Tokens, snapshot.Tokens, lease.Tokens, saved.HeldTokens, ref tokensBudget),
                HeldOnRestore(_quota.Requests, snapshot.Requests, lease.Requests, saved.HeldRequests, ref requestsBudget));
            _live.Add(lease.Id, held);
            heldTokens += held.HeldTokens;
            heldRequests += held.HeldRequests;
            nextId = Math.Max(nextId, lease.Id + 1);
        }

        _quota.Tokens?.RestoreHolding(snapshot.Tokens, heldTokens);
        _quota.Requests?.RestoreHolding(snapshot.Requests, heldRequests);
        _nextId = nextId;
    }

    // What a restored lease holds in one dimension of this ledger's buckets.
    private static long HeldOnRestore(TokenBucket? bucket, TokenBucketSnapshot? saved, long granted, long savedHeld, ref long budget)
    {
        if (bucket is null)
        {
            return 0;
        }

        if (saved is not null)
        {
            return savedHeld;
        }

        // Limited only now: the lease was granted as asked and may be spent in full until it ends, so it holds what the
        // new bucket has, first come first served, capped so the holds together never exceed the capacity.
        long held = Math.Min(granted, budget);
        budget -= held;
        return held;
    }

    // A node cannot give back more than it was granted, whatever it claims; what it spent comes out of the hold first.
    private static long Returned(long held, long granted, long unused) =>
        Math.Max(0, held - (granted - Math.Clamp(unused, 0, granted)));
}
