namespace ControlPlane.Domain.Quotas;

/// <summary>
/// A follower region's side of global quotas (held by a remote-homed endpoint's grain in a region that is not its home):
/// carves its nodes' leases out of the <see cref="RegionLease"/>s the home granted, exactly as the home carves them out of
/// the full limit. Region lease units never refill here (refill happens at home); what a node returns goes back to the
/// region lease it came from while that lease is live.
/// </summary>
/// <remarks>
/// <para>Node leases are carved from the newest region lease and never outlive it. An older region lease is settled with
/// the home (<see cref="DueSettlements"/>) once no node lease carved from it is open, returning what is left of it.</para>
/// <para><b>Partition</b>: when the newest region lease expires without a newer one (the home could not be reached), the
/// pool falls back to a bucket of <see cref="PartitionShare.Limits"/> of the global limit, starting full at that expiry,
/// and grants node leases from it until a new region lease is installed. The home charges the same allowance to its
/// buckets from the same instant (<see cref="RegionLeaseLedger"/>), so this spend is not reported back.</para>
/// Not thread-safe: the owning grain serialises calls.
/// </remarks>
public sealed class RegionQuotaPool
{
    private readonly QuotaLimits _limits;
    private readonly double _share;
    private readonly LeaseOptions _nodeOptions;
    private readonly TimeProvider _time;
    private readonly List<PoolRegionLease> _regionLeases = [];
    private readonly Dictionary<long, PoolNodeLease> _nodeLeases = [];
    private RateQuota? _partition;
    private long _nextId = 1;
    private long _carriedTokens;
    private bool _ackDue;

    /// <summary>Creates an empty pool (no region lease yet: nothing can be granted, and no partition right).</summary>
    /// <param name="limits">The endpoint's global limits (its home's).</param>
    /// <param name="partitionShare">This region's partition share, in (0, 1].</param>
    /// <param name="nodeOptions">Node lease timing (as for home node leases).</param>
    /// <param name="time">Clock.</param>
    public RegionQuotaPool(QuotaLimits limits, double partitionShare, LeaseOptions nodeOptions, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(limits);
        ArgumentNullException.ThrowIfNull(nodeOptions);
        ArgumentNullException.ThrowIfNull(time);
        limits.Validate();
        nodeOptions.Validate(limits.Period);
        _ = PartitionShare.Limits(limits, partitionShare);
        _limits = limits;
        _share = partitionShare;
        _nodeOptions = nodeOptions;
        _time = time;
    }

    /// <summary>True while the pool spends its partition share (its newest region lease expired unrenewed).</summary>
    public bool Partitioned => _partition is not null;

    /// <summary>The newest installed region lease's id (0: none): what the next grant request states as held.</summary>
    public long HeldLeaseId => _regionLeases.Count == 0 ? 0 : _regionLeases[^1].Lease.Id;

    /// <summary>Tokens of node reconciliation not yet carried to the home.</summary>
    public long CarriedTokens => _carriedTokens;

    /// <summary>Marks the proof of the newest install as sent (a grant request named <see cref="HeldLeaseId"/>).</summary>
    public void ProofSent() => _ackDue = false;

    /// <summary>The newest region lease, if any.</summary>
    public RegionLease? Newest => _regionLeases.Count == 0 ? null : _regionLeases[^1].Lease;

    /// <summary>Node leases open now.</summary>
    public int OpenNodeLeases => _nodeLeases.Count;

    /// <summary>Units granted in the live (unexpired) region leases: with <see cref="Uncarved"/>, what this region may still
    /// spend from the home's grants.</summary>
    public (long Tokens, long Requests) Live
    {
        get
        {
            var now = _time.GetUtcNow();
            long tokens = 0;
            long requests = 0;
            foreach (var held in _regionLeases)
            {
                if (held.Lease.ExpiresAt > now)
                {
                    tokens += held.Lease.Tokens;
                    requests += held.Lease.Requests;
                }
            }

            return (tokens, requests);
        }
    }

    /// <summary>Units of the live region leases not carved into node leases.</summary>
    public (long Tokens, long Requests) Uncarved
    {
        get
        {
            var now = _time.GetUtcNow();
            long tokens = 0;
            long requests = 0;
            foreach (var held in _regionLeases)
            {
                if (held.Lease.ExpiresAt > now)
                {
                    tokens += held.UncarvedTokens;
                    requests += held.UncarvedRequests;
                }
            }

            return (tokens, requests);
        }
    }

    /// <summary>Installs a region lease the home granted (a repeat of an installed id is ignored) and leaves partition mode.
    /// A lease older than the newest is refused (an answer overtaken by a newer one).</summary>
    public bool Install(RegionLease lease)
    {
        ExpireDue();
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(lease.Id);
        ArgumentOutOfRangeException.ThrowIfNegative(lease.Tokens);
        ArgumentOutOfRangeException.ThrowIfNegative(lease.Requests);
        if (_regionLeases.Count > 0 && lease.Id <= _regionLeases[^1].Lease.Id)
        {
            return false;
        }

        _regionLeases.Add(new PoolRegionLease(lease) { UncarvedTokens = lease.Tokens, UncarvedRequests = lease.Requests });
        if (_partition is not null)
        {
            // The home keeps reserving the partition share until a call proves this install: renew at once.
            _partition = null;
            _ackDue = true;
        }

        return true;
    }

    /// <summary>True when the newest region lease should be renewed: none yet, expiring within
    /// <paramref name="renewBeforeExpiry"/>, partitioned, just back from a partition (the home reserves the partition share
    /// until a call proves the new lease installed), or less than <paramref name="lowWater"/> of it left uncarved.</summary>
    public bool NeedsRenewal(TimeSpan renewBeforeExpiry, double lowWater)
    {
        if (_regionLeases.Count == 0 || _partition is not null || _ackDue)
        {
            return true;
        }

        var newest = _regionLeases[^1];
        return newest.Lease.ExpiresAt - _time.GetUtcNow() <= renewBeforeExpiry
            || newest.UncarvedTokens < newest.Lease.Tokens * lowWater
            || newest.UncarvedRequests < newest.Lease.Requests * lowWater;
    }

    /// <summary>Grants <paramref name="nodeId"/> up to the asked slice from the newest live region lease (or, partitioned, from
    /// the partition bucket); false when nothing can be granted in a limited dimension.</summary>
    public bool TryGrant(string nodeId, long tokens, long requests, out QuotaLease lease)
    {
        ArgumentException.ThrowIfNullOrEmpty(nodeId);
        ArgumentOutOfRangeException.ThrowIfNegative(tokens);
        ArgumentOutOfRangeException.ThrowIfNegative(requests);
        ExpireDue();
        var now = _time.GetUtcNow();
        bool limitedTokens = _limits.TokensPerPeriod > 0;
        bool limitedRequests = _limits.RequestsPerPeriod > 0;
        if (_partition is { } partition)
        {
            long pt = partition.Tokens is { } t ? Math.Min(tokens, t.Available) : tokens;
            long pr = partition.Requests is { } r ? Math.Min(requests, r.Available) : requests;
            if ((limitedTokens && tokens > 0 && pt == 0) || (limitedRequests && requests > 0 && pr == 0))
            {
                lease = default;
                return false;
            }

            partition.Tokens?.TryHold(pt);
            partition.Requests?.TryHold(pr);
            lease = new QuotaLease(_nextId++, nodeId, pt, pr, now, now + _nodeOptions.Duration);
            _nodeLeases.Add(lease.Id, new PoolNodeLease(lease, 0));
            return true;
        }

        if (_regionLeases.Count == 0 || _regionLeases[^1].Lease.ExpiresAt <= now)
        {
            lease = default;
            return false;
        }

        var source = _regionLeases[^1];
        long gt = limitedTokens ? Math.Min(tokens, source.UncarvedTokens) : tokens;
        long gr = limitedRequests ? Math.Min(requests, source.UncarvedRequests) : requests;
        if ((limitedTokens && tokens > 0 && gt == 0) || (limitedRequests && requests > 0 && gr == 0))
        {
            lease = default;
            return false;
        }

        if (limitedTokens)
        {
            source.UncarvedTokens -= gt;
        }

        if (limitedRequests)
        {
            source.UncarvedRequests -= gr;
        }

        var expires = now + _nodeOptions.Duration;
        lease = new QuotaLease(_nextId++, nodeId, gt, gr, now, expires < source.Lease.ExpiresAt ? expires : source.Lease.ExpiresAt);
        _nodeLeases.Add(lease.Id, new PoolNodeLease(lease, source.Lease.Id));
        return true;
    }

    /// <summary>Closes a node lease: unused units go back to where they came from while it is live; carried reconciliation
    /// is kept for the next region settlement. Returns false when the lease was not open (a repeat, or expired).</summary>
    /// <exception cref="ArgumentException">The lease is open and held by another node.</exception>
    public bool Settle(string nodeId, in LeaseSettlement settlement)
    {
        ArgumentException.ThrowIfNullOrEmpty(nodeId);
        ExpireDue();
        if (!_nodeLeases.TryGetValue(settlement.LeaseId, out var open))
        {
            // A carry-only settlement counts; a repeat (or a lease of an earlier activation) does not count twice.
            if (settlement.LeaseId == 0)
            {
                _carriedTokens = checked(_carriedTokens + settlement.CarriedTokens);
            }

            return false;
        }

        if (!string.Equals(open.Lease.NodeId, nodeId, StringComparison.Ordinal))
        {
            throw new ArgumentException($"lease {settlement.LeaseId} is held by another node", nameof(nodeId));
        }

        _nodeLeases.Remove(settlement.LeaseId);
        _carriedTokens = checked(_carriedTokens + settlement.CarriedTokens);
        long unusedTokens = Math.Clamp(settlement.UnusedTokens, 0, open.Lease.Tokens);
        long unusedRequests = Math.Clamp(settlement.UnusedRequests, 0, open.Lease.Requests);
        if (open.Source == 0)
        {
            EndPartitionHold(open.Lease, unusedTokens, unusedRequests);
            return true;
        }

        var source = _regionLeases.Find(held => held.Lease.Id == open.Source);
        if (source is not null && source.Lease.ExpiresAt > _time.GetUtcNow())
        {
            if (_limits.TokensPerPeriod > 0)
            {
                source.UncarvedTokens += unusedTokens;
            }

            if (_limits.RequestsPerPeriod > 0)
            {
                source.UncarvedRequests += unusedRequests;
            }
        }

        return true;
    }

    /// <summary>Ends expired node leases (their units count as spent), drops expired region leases (the home forfeited them),
    /// and enters partition mode when the newest region lease expired without a newer one. Returns what expired.</summary>
    public int ExpireDue()
    {
        var now = _time.GetUtcNow();
        int expired = 0;
        foreach (var open in _nodeLeases.Values.Where(open => open.Lease.ExpiresAt <= now).ToList())
        {
            _nodeLeases.Remove(open.Lease.Id);
            if (open.Source == 0)
            {
                EndPartitionHold(open.Lease, 0, 0);
            }

            expired++;
        }

        var start = _regionLeases.Count == 0 ? DateTimeOffset.MaxValue : _regionLeases[^1].Lease.ExpiresAt;
        if (_partition is null && start <= now)
        {
            // The home could not be reached in time: fall back to the partition share, a bucket starting full at the expiry
            // of the newest installed lease (never before the home starts reserving it: it reserves from the newest lease
            // this region proved installed, which is at most this one).
            var clock = new FixedStartClock(_time, start);
            _partition = new RateQuota(PartitionShare.Limits(_limits, _share), clock);
            clock.Release();
        }

        // Expired region leases other than the newest are done; the newest is kept to judge the next installs by id.
        expired += _regionLeases.RemoveAll(held => held.Lease.ExpiresAt <= now && held != _regionLeases[^1]);
        return expired;
    }

    /// <summary>Superseded live region leases with no open node lease carved from them: settle these with the home (unused =
    /// what is left), then call <see cref="Settled"/>. The first one carries the accumulated reconciliation.</summary>
    public IReadOnlyList<RegionLeaseReturn> DueSettlements()
    {
        ExpireDue();
        var due = new List<RegionLeaseReturn>();
        long carry = _carriedTokens;
        for (int i = 0; i < _regionLeases.Count - 1; i++)
        {
            var held = _regionLeases[i];
            if (!_nodeLeases.Values.Any(open => open.Source == held.Lease.Id))
            {
                due.Add(new RegionLeaseReturn(held.Lease.Id, held.UncarvedTokens, held.UncarvedRequests, carry));
                carry = 0;
            }
        }

        // With nothing to close the carry waits for the next superseded lease (a renewal supersedes the newest).
        return due;
    }

    /// <summary>The home acknowledged a settlement: forget the lease and the carry it took.</summary>
    public void Settled(RegionLeaseReturn settled)
    {
        int removed = _regionLeases.RemoveAll(held => held.Lease.Id == settled.LeaseId && held != _regionLeases[^1]);
        if (removed > 0)
        {
            _carriedTokens = checked(_carriedTokens - settled.CarriedTokens);
        }
    }

    private void EndPartitionHold(QuotaLease lease, long unusedTokens, long unusedRequests)
    {
        // A partition bucket replaced by a region lease is gone: its returns have nowhere to go (they were reserved at home).
        if (_partition is null)
        {
            return;
        }

        if (_partition.Tokens is { } t && t.Held >= lease.Tokens)
        {
            t.EndHold(lease.Tokens, unusedTokens);
        }

        if (_partition.Requests is { } r && r.Held >= lease.Requests)
        {
            r.EndHold(lease.Requests, unusedRequests);
        }
    }

    private sealed class PoolRegionLease(RegionLease lease)
    {
        public RegionLease Lease { get; } = lease;

        public long UncarvedTokens { get; set; }

        public long UncarvedRequests { get; set; }
    }

    private sealed record PoolNodeLease(QuotaLease Lease, long Source);

    // A clock pinned to the partition's start while the partition buckets are created, so they refill from the expiry
    // rather than from whenever the pool noticed it.
    private sealed class FixedStartClock(TimeProvider inner, DateTimeOffset start) : TimeProvider
    {
        private bool _released;

        public void Release() => _released = true;

        public override DateTimeOffset GetUtcNow() => _released ? inner.GetUtcNow() : start;
    }
}

/// <summary>A region lease the follower returns to the home.</summary>
/// <param name="LeaseId">The region lease.</param>
/// <param name="UnusedTokens">Tokens never carved or returned by nodes.</param>
/// <param name="UnusedRequests">Requests never carved or returned by nodes.</param>
/// <param name="CarriedTokens">Node reconciliation carried to the home (positive: extra tokens used).</param>
public sealed record RegionLeaseReturn(long LeaseId, long UnusedTokens, long UnusedRequests, long CarriedTokens);
