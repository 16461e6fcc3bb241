namespace ControlPlane.Domain.Quotas;

/// <summary>
/// The home region's side of global quotas (held by an endpoint's grain in its home region, next to its
/// <see cref="QuotaLeaseLedger"/>): grants other regions leases carved out of the same buckets its own nodes lease from, so
/// <c>level + node leases + region leases + partition reserves &lt;= capacity</c> and the regions together can never
/// admit more than the single bucket would, plus the partition allowance of regions cut off.
/// </summary>
/// <remarks>
/// <para><b>Partition right.</b> A region that cannot renew may, once its newest installed lease expired, spend its
/// partition share of the limit (<see cref="PartitionShare.Limits"/>: a bucket of that capacity starting full at that
/// expiry, see <see cref="RegionQuotaPool"/>). The home cannot know which of its grants arrived, so it counts from the
/// newest lease the region <em>proved</em> it installed (named as held in a later call, or settled; its first lease counts
/// as proved): from that lease's expiry, unless a later one is proved first, it charges the region's <em>partition
/// reserve</em> to the buckets (the share's capacity at once, then its refill), so what it grants anyone else leaves that
/// allowance out. The reserve ends when the region proves a lease granted after the reserve began. The partition spend is
/// never reported back: the reserve is its accounting, counted once. A follower renews more than half a lease's life before
/// expiry, so in steady state each call proves the previous grant before the proved lease expires and no reserve starts.</para>
/// <para>Idempotent by ids: a retried grant (same region, same request id) gets the same lease; a settlement of a lease
/// already settled does nothing; a settlement of a lease already forfeited at expiry returns nothing (its units stay
/// charged) and only charges its carried reconciliation, once. Not thread-safe: the owning grain serialises calls.</para>
/// </remarks>
public sealed class RegionLeaseLedger
{
    /// <summary>How many granted and settled lease ids are remembered per region (to recognise proofs and repeats).</summary>
    public const int Memory = 64;

    private const string HolderPrefix = "region:";
    private readonly QuotaLeaseLedger _ledger;
    private readonly RegionLeaseOptions _options;
    private readonly TimeProvider _time;
    private readonly Func<string, double> _shareOf;
    private readonly Dictionary<string, RegionLeaseEntry> _regions = new(StringComparer.Ordinal);

    /// <summary>Creates the region book over <paramref name="ledger"/> (the endpoint's own lease ledger).</summary>
    /// <param name="ledger">The endpoint's ledger: region leases are held in its buckets, next to the node leases.</param>
    /// <param name="options">Region lease timing.</param>
    /// <param name="shareOf">Each region's partition share (in (0, 1]).</param>
    /// <param name="time">Clock.</param>
    public RegionLeaseLedger(QuotaLeaseLedger ledger, RegionLeaseOptions options, Func<string, double> shareOf, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(ledger);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(shareOf);
        ArgumentNullException.ThrowIfNull(time);
        options.Validate(ledger.Quota.Limits.Period);
        _ledger = ledger;
        _options = options;
        _shareOf = shareOf;
        _time = time;
    }

    /// <summary>The endpoint's ledger the region leases are held in.</summary>
    public QuotaLeaseLedger Ledger => _ledger;

    /// <summary>The name a region's leases are held under in <see cref="Ledger"/>.</summary>
    public static string HolderOf(string region) => HolderPrefix + region;

    /// <summary>True when <paramref name="holder"/> (a lease's node id) is a region's.</summary>
    public static bool IsRegionHolder(string holder) => holder is not null && holder.StartsWith(HolderPrefix, StringComparison.Ordinal);

    /// <summary>Regions whose partition reserve is being charged now.</summary>
    public IEnumerable<string> PartitionedRegions => _regions.Where(pair => pair.Value.ReserveSince is not null).Select(pair => pair.Key).Order(StringComparer.Ordinal);

    /// <summary>The regions this book has granted leases to.</summary>
    public IEnumerable<string> Regions => _regions.Keys.Order(StringComparer.Ordinal);

    /// <summary>Units charged so far to <paramref name="region"/>'s current partition reserve (zero when none).</summary>
    public (long Tokens, long Requests) ReserveCharged(string region) =>
        _regions.TryGetValue(region, out var entry) && entry.ReserveSince is not null ? (entry.ReserveTokens, entry.ReserveRequests) : (0, 0);

    /// <summary>Units in <paramref name="region"/>'s live leases.</summary>
    public (long Tokens, long Requests) Outstanding(string region)
    {
        string holder = HolderOf(region);
        long tokens = 0;
        long requests = 0;
        foreach (var lease in _ledger.LiveLeases)
        {
            if (string.Equals(lease.NodeId, holder, StringComparison.Ordinal))
            {
                tokens += lease.Tokens;
                requests += lease.Requests;
            }
        }

        return (tokens, requests);
    }

    /// <summary>Grants <paramref name="region"/> up to its stated demand, less if the buckets hold less, possibly nothing
    /// (a zero lease is still a lease: installing it renews the partition right). The same request id as the region's last
    /// grant gets that grant again. The caller persists before answering.</summary>
    /// <param name="region">The asking region.</param>
    /// <param name="requestId">Unique per attempt.</param>
    /// <param name="tokens">Stated token demand.</param>
    /// <param name="requests">Stated request demand.</param>
    /// <param name="heldLeaseId">The newest lease the region has installed (0: none), which proves that install.</param>
    /// <exception cref="ArgumentException"><paramref name="heldLeaseId"/> names a lease never granted to the region.</exception>
    public RegionLease Grant(string region, string requestId, long tokens, long requests, long heldLeaseId)
    {
        ArgumentException.ThrowIfNullOrEmpty(region);
        ArgumentException.ThrowIfNullOrEmpty(requestId);
        ArgumentOutOfRangeException.ThrowIfNegative(tokens);
        ArgumentOutOfRangeException.ThrowIfNegative(requests);
        ArgumentOutOfRangeException.ThrowIfNegative(heldLeaseId);
        var entry = Entry(region);
        if (heldLeaseId > 0 && heldLeaseId > (entry.Granted.Count == 0 ? 0 : entry.Granted.Keys.Max()))
        {
            throw new ArgumentException($"held lease {heldLeaseId} was never granted to region {region}", nameof(heldLeaseId));
        }

        if (entry.LastGrant is { } last && string.Equals(entry.LastRequestId, requestId, StringComparison.Ordinal))
        {
            Prove(entry, heldLeaseId);
            return last;
        }

        Sweep();
        Prove(entry, heldLeaseId);
        var quota = _ledger.Quota;
        long grantTokens = quota.Tokens is null ? tokens : Math.Min(tokens, quota.AvailableTokens);
        long grantRequests = quota.Requests is null ? requests : Math.Min(requests, quota.AvailableRequests);
        if (!_ledger.TryGrant(HolderOf(region), grantTokens, grantRequests, _options.Duration, out var granted))
        {
            throw new InvalidOperationException("a grant sized to what the buckets hold was refused");
        }

        var lease = new RegionLease(granted.Id, region, granted.Tokens, granted.Requests, granted.GrantedAt, granted.ExpiresAt);
        entry.LastRequestId = requestId;
        entry.LastGrant = lease;
        entry.Granted[lease.Id] = lease.ExpiresAt;
        if (entry.Granted.Count > Memory)
        {
            entry.Granted.Remove(entry.Granted.Keys.Min());
        }

        // The first lease counts as proved: a region that installed it may partition from its expiry.
        entry.Proved ??= (lease.Id, lease.ExpiresAt);
        return lease;
    }

    /// <summary>Closes a region lease: unused units come back if it is still live, its carried (positive) reconciliation is
    /// charged once whatever its state; the settlement proves the region installed it. Returns true when units came back;
    /// false for a repeat or an already forfeited lease.</summary>
    /// <exception cref="ArgumentException">The lease is live and held by another holder, or was never granted.</exception>
    public bool Settle(string region, long leaseId, long unusedTokens, long unusedRequests, long carriedTokens)
    {
        ArgumentException.ThrowIfNullOrEmpty(region);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(leaseId);
        var entry = Entry(region);
        if (entry.Settled.Contains(leaseId) || (entry.Settled.Count >= Memory && leaseId < entry.Settled.Min))
        {
            return false;
        }

        string holder = HolderOf(region);
        bool live = false;
        foreach (var lease in _ledger.LiveLeases)
        {
            if (lease.Id == leaseId)
            {
                if (!string.Equals(lease.NodeId, holder, StringComparison.Ordinal))
                {
                    throw new ArgumentException($"lease {leaseId} is not held by region {region}", nameof(leaseId));
                }

                live = true;
                break;
            }
        }

        if (!live && !entry.Granted.ContainsKey(leaseId))
        {
            throw new ArgumentException($"lease {leaseId} was never granted to region {region} (or is too old to settle)", nameof(leaseId));
        }

        Sweep();
        Prove(entry, leaseId);
        entry.Settled.Add(leaseId);
        if (entry.Settled.Count > Memory)
        {
            entry.Settled.Remove(entry.Settled.Min);
        }

        // Refunds are not taken from regions: a region's negative carry is dropped (under-use, never over-admission).
        bool returned = _ledger.Settle(new LeaseSettlement(leaseId, live ? unusedTokens : 0, live ? unusedRequests : 0, Math.Max(0, carriedTokens)));
        return returned && live;
    }

    /// <summary>Forfeits expired leases, starts the partition reserve of every region whose proved lease expired before a
    /// later one was proved (from that expiry), and charges every active reserve up to now. Returns true when anything
    /// changed (the caller persists).</summary>
    public bool Sweep()
    {
        bool changed = _ledger.ExpireDue() > 0;
        var now = _time.GetUtcNow();
        foreach (var (region, entry) in _regions)
        {
            if (entry.ReserveSince is null && entry.Proved is { } proved && proved.ExpiresAt <= now)
            {
                entry.ReserveSince = proved.ExpiresAt;
                entry.ReserveAfterLease = proved.Id;
                entry.ReserveTokens = 0;
                entry.ReserveRequests = 0;
                changed = true;
            }

            if (entry.ReserveSince is { } since)
            {
                changed |= ChargeReserve(region, entry, since, now);
            }
        }

        return changed;
    }

    /// <summary>Everything needed to carry the region book over an activation move (with the ledger's own snapshot).</summary>
    public RegionLeaseBookSnapshot Export() =>
        new([.. _regions.OrderBy(pair => pair.Key, StringComparer.Ordinal).Select(pair => new RegionLeaseEntrySnapshot(
            pair.Key, pair.Value.LastRequestId, pair.Value.LastGrant,
            [.. pair.Value.Granted.Select(granted => new GrantedRegionLease(granted.Key, granted.Value))],
            pair.Value.Proved is { } proved ? new GrantedRegionLease(proved.Id, proved.ExpiresAt) : null,
            [.. pair.Value.Settled], pair.Value.ReserveSince, pair.Value.ReserveAfterLease, pair.Value.ReserveTokens, pair.Value.ReserveRequests))]);

    /// <summary>Replaces the book with <paramref name="snapshot"/>; a reserve carries on from where it was charged.</summary>
    /// <exception cref="ArgumentException">The snapshot cannot come from a book; the book is left unchanged.</exception>
    public void Restore(RegionLeaseBookSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        ArgumentNullException.ThrowIfNull(snapshot.Regions);
        var restored = new Dictionary<string, RegionLeaseEntry>(StringComparer.Ordinal);
        foreach (var saved in snapshot.Regions)
        {
            if (saved is null || string.IsNullOrEmpty(saved.Region) || restored.ContainsKey(saved.Region) || saved.ReserveTokens < 0
                || saved.ReserveRequests < 0 || saved.Settled is null || saved.Settled.Any(id => id <= 0)
                || saved.Granted is null || saved.Granted.Any(granted => granted is null || granted.Id <= 0)
                || (saved.LastGrant is null) != (saved.LastRequestId is null) || (saved.Proved is { } p && p.Id <= 0))
            {
                throw new ArgumentException($"region book snapshot: entry {saved?.Region} is bad", nameof(snapshot));
            }

            var entry = new RegionLeaseEntry
            {
                LastRequestId = saved.LastRequestId,
                LastGrant = saved.LastGrant,
                Proved = saved.Proved is { } proved ? (proved.Id, proved.ExpiresAt) : null,
                Settled = [.. saved.Settled],
                ReserveSince = saved.ReserveSince,
                ReserveAfterLease = saved.ReserveAfterLease,
                ReserveTokens = saved.ReserveTokens,
                ReserveRequests = saved.ReserveRequests,
            };
            foreach (var granted in saved.Granted)
            {
                entry.Granted[granted.Id] = granted.ExpiresAt;
            }

            restored.Add(saved.Region, entry);
        }

        _regions.Clear();
        foreach (var (region, entry) in restored)
        {
            _regions.Add(region, entry);
        }
    }

    // A call naming (or settling) a lease proves the region installed it: a later proved lease moves the partition right on
    // and ends a reserve that began before that lease was granted.
    private static void Prove(RegionLeaseEntry entry, long leaseId)
    {
        if (leaseId <= 0 || !entry.Granted.TryGetValue(leaseId, out var expiresAt) || (entry.Proved is { } proved && proved.Id >= leaseId))
        {
            return;
        }

        entry.Proved = (leaseId, expiresAt);
        if (entry.ReserveSince is not null && leaseId > entry.ReserveAfterLease)
        {
            entry.ReserveSince = null;
            entry.ReserveAfterLease = 0;
            entry.ReserveTokens = 0;
            entry.ReserveRequests = 0;
        }
    }

    private RegionLeaseEntry Entry(string region)
    {
        if (!_regions.TryGetValue(region, out var entry))
        {
            entry = new RegionLeaseEntry();
            _regions.Add(region, entry);
        }

        return entry;
    }

    // Charges what the region's partition bucket could have admitted from `since` to `now` and was not charged yet: the
    // share's full capacity at once (the bucket starts full) plus its refill, exact in integers.
    private bool ChargeReserve(string region, RegionLeaseEntry entry, DateTimeOffset since, DateTimeOffset now)
    {
        var limits = PartitionShare.Limits(_ledger.Quota.Limits, _shareOf(region));
        long elapsed = Math.Max(0, (now - since).Ticks);
        long dueTokens = Due(limits.TokensPerPeriod, elapsed, limits.Period);
        long dueRequests = Due(limits.RequestsPerPeriod, elapsed, limits.Period);
        bool changed = false;
        if (_ledger.Quota.Tokens is { } tokens && dueTokens > entry.ReserveTokens)
        {
            tokens.Charge(dueTokens - entry.ReserveTokens);
            entry.ReserveTokens = dueTokens;
            changed = true;
        }

        if (_ledger.Quota.Requests is { } requests && dueRequests > entry.ReserveRequests)
        {
            requests.Charge(dueRequests - entry.ReserveRequests);
            entry.ReserveRequests = dueRequests;
            changed = true;
        }

        return changed;
    }

    private static long Due(long capacity, long elapsedTicks, TimeSpan period)
    {
        if (capacity <= 0)
        {
            return 0;
        }

        Int128 due = capacity + ((Int128)capacity * elapsedTicks / period.Ticks);
        return due > long.MaxValue ? long.MaxValue : (long)due;
    }

    private sealed class RegionLeaseEntry
    {
        public string? LastRequestId { get; set; }

        public RegionLease? LastGrant { get; set; }

        public SortedDictionary<long, DateTimeOffset> Granted { get; } = [];

        public (long Id, DateTimeOffset ExpiresAt)? Proved { get; set; }

        public SortedSet<long> Settled { get; set; } = [];

        public DateTimeOffset? ReserveSince { get; set; }

        public long ReserveAfterLease { get; set; }

        public long ReserveTokens { get; set; }

        public long ReserveRequests { get; set; }
    }
}

/// <summary>The persisted state of a <see cref="RegionLeaseLedger"/> (the region leases' units live in the endpoint ledger's
/// own snapshot).</summary>
/// <param name="Regions">One entry per region ever granted a lease.</param>
public sealed record RegionLeaseBookSnapshot(IReadOnlyList<RegionLeaseEntrySnapshot> Regions);

/// <summary>A region lease's id and expiry as the book remembers it.</summary>
/// <param name="Id">The lease id.</param>
/// <param name="ExpiresAt">Its expiry.</param>
public sealed record GrantedRegionLease(long Id, DateTimeOffset ExpiresAt);

/// <summary>One region's entry in a <see cref="RegionLeaseBookSnapshot"/>.</summary>
/// <param name="Region">The region.</param>
/// <param name="LastRequestId">The request id of its last grant (retries get the same lease).</param>
/// <param name="LastGrant">Its last grant.</param>
/// <param name="Granted">Its recent grants (the newest <see cref="RegionLeaseLedger.Memory"/>).</param>
/// <param name="Proved">The newest lease it proved installed (its partition right runs from that lease's expiry).</param>
/// <param name="Settled">Recently settled lease ids (repeats are ignored).</param>
/// <param name="ReserveSince">When its partition reserve started; null when none is active.</param>
/// <param name="ReserveAfterLease">The proved lease when the reserve began: proving a later one ends it.</param>
/// <param name="ReserveTokens">Tokens charged to the active reserve so far.</param>
/// <param name="ReserveRequests">Requests charged to the active reserve so far.</param>
public sealed record RegionLeaseEntrySnapshot(string Region, string? LastRequestId, RegionLease? LastGrant, IReadOnlyList<GrantedRegionLease> Granted,
    GrantedRegionLease? Proved, IReadOnlyList<long> Settled, DateTimeOffset? ReserveSince, long ReserveAfterLease, long ReserveTokens, long ReserveRequests);
