namespace ControlPlane.Domain.Quotas;

/// <summary>
/// The node side of a quota lease: spends the granted slice locally with no remote call, reconciles
/// outcomes against it, says when to renew (below the low-water mark or close to expiry) and produces the
/// <see cref="LeaseSettlement"/> to send back. Spending stops <see cref="LeaseOptions.SafetyMargin"/> before
/// the ledger's expiry, so a slice is never spent after the ledger has forfeited it.
/// Not thread-safe: a node serialises access per endpoint.
/// </summary>
public sealed class LeaseWallet
{
    private readonly LeaseOptions _options;
    private readonly TimeProvider _time;
    private QuotaLease _lease;
    private long _tokensLeft;
    private long _requestsLeft;
    private long _carried;
    private long _spendUntilTicks;
    // Per priority level (FairShareQuota's rule, see PriorityShares): what each level spent from the lease held.
    private readonly long[] _levelTokens = new long[3];
    private readonly long[] _levelRequests = new long[3];
    private volatile bool _priorityBlocked;

    /// <summary>Creates an empty wallet.</summary>
    public LeaseWallet(LeaseOptions options, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        _options = options;
        _time = time;
    }

    /// <summary>The lease held, or default when none.</summary>
    public QuotaLease Lease => _lease;

    /// <summary>Tokens still spendable (0 when the lease expired or none is held).</summary>
    public long TokensLeft => IsActive(_time.GetUtcNow()) ? _tokensLeft : 0;

    /// <summary>Requests still spendable.</summary>
    public long RequestsLeft => IsActive(_time.GetUtcNow()) ? _requestsLeft : 0;

    /// <summary>Tokens spent from the lease held (granted minus left, reconciliations included; 0 when none is held).
    /// Counted whether or not the lease is still active, so a drained or expired lease still tells how fast it went.</summary>
    public long SpentTokens => _lease.Id == 0 ? 0 : Math.Max(0, _lease.Tokens - _tokensLeft);

    /// <summary>Requests spent from the lease held (0 when none is held).</summary>
    public long SpentRequests => _lease.Id == 0 ? 0 : Math.Max(0, _lease.Requests - _requestsLeft);

    /// <summary>Reconciliation carried to the next settlement (positive = owed, negative = credit).</summary>
    public long CarriedTokens => _carried;

    /// <summary>Installs a freshly granted lease. Any lease still held must have been settled first.</summary>
    public void Accept(in QuotaLease lease)
    {
        if (_lease.Id != 0)
        {
            throw new InvalidOperationException("The wallet still holds a lease; settle it before accepting another.");
        }

        _lease = lease;
        _spendUntilTicks = (lease.ExpiresAt - _options.SafetyMargin).UtcTicks;
        _tokensLeft = lease.Tokens;
        _requestsLeft = lease.Requests;
        Array.Clear(_levelTokens);
        Array.Clear(_levelRequests);
        _priorityBlocked = false;
    }

    /// <summary>True while the lease can be spent at <paramref name="now"/>.</summary>
    public bool IsActive(DateTimeOffset now) => _lease.Id != 0 && now.UtcTicks < _spendUntilTicks;

    /// <summary>True when <paramref name="reservation"/> could be spent at <paramref name="now"/>.</summary>
    public bool CanSpend(in TokenReservation reservation, DateTimeOffset now) =>
        IsActive(now) && _tokensLeft >= reservation.Tokens && _requestsLeft >= reservation.Requests;

    /// <summary>True when <paramref name="reservation"/> of a class of <paramref name="priority"/> could be spent at
    /// <paramref name="now"/> under <paramref name="shares"/> (null: no reserve): within its level's weighted part of the
    /// slice, or beyond it only while the whole parts of every higher priority level stay in the slice. A refusal by the
    /// reserve alone marks the wallet for renewal (<see cref="NeedsRenewal"/>): the level's part of a fresh slice is its due.</summary>
    public bool CanSpend(in TokenReservation reservation, DateTimeOffset now, WorkloadPriority priority, PriorityShares? shares)
    {
        if (!CanSpend(reservation, now))
        {
            return false;
        }

        if (shares is null || FitsShare(reservation, (int)priority, shares))
        {
            return true;
        }

        _priorityBlocked = true;
        return false;
    }

    /// <summary>Spends the reservation from the slice. <paramref name="leaseId"/> identifies the lease it was
    /// spent from, for <see cref="Reconcile"/>.</summary>
    public bool TrySpend(in TokenReservation reservation, out long leaseId) =>
        TrySpend(reservation, out leaseId, WorkloadPriority.Interactive, null);

    /// <summary>Spends the reservation of a class of <paramref name="priority"/> under <paramref name="shares"/>.</summary>
    public bool TrySpend(in TokenReservation reservation, out long leaseId, WorkloadPriority priority, PriorityShares? shares)
    {
        if (!CanSpend(reservation, _time.GetUtcNow(), priority, shares))
        {
            leaseId = 0;
            return false;
        }

        _tokensLeft -= reservation.Tokens;
        _requestsLeft -= reservation.Requests;
        _levelTokens[(int)priority] += reservation.Tokens;
        _levelRequests[(int)priority] += reservation.Requests;
        leaseId = _lease.Id;
        return true;
    }

    private bool FitsShare(in TokenReservation reservation, int level, PriorityShares shares)
    {
        if (_levelTokens[level] + reservation.Tokens <= shares.Guaranteed(level, _lease.Tokens)
            && _levelRequests[level] + reservation.Requests <= shares.Guaranteed(level, _lease.Requests))
        {
            return true;
        }

        // Beyond its part a level borrows only while the slice keeps the whole parts of every higher level: those parts
        // come back with every fresh slice (renewed as soon as a lower level is blocked), as a share bucket refills.
        long keepTokens = 0;
        long keepRequests = 0;
        for (int higher = 0; higher < level; higher++)
        {
            keepTokens += shares.Reserved(higher, _lease.Tokens);
            keepRequests += shares.Reserved(higher, _lease.Requests);
        }

        return _tokensLeft - reservation.Tokens >= keepTokens && _requestsLeft - reservation.Requests >= keepRequests;
    }

    /// <summary>Settles one spent reservation to its actual tokens. While the same lease is active the
    /// difference goes back into (or comes out of) the slice; otherwise it is carried to the next settlement.</summary>
    public void Reconcile(long leaseId, in TokenReservation reservation, long actualTokens)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(actualTokens);
        long delta = actualTokens - reservation.Tokens;
        if (leaseId != 0 && leaseId == _lease.Id && IsActive(_time.GetUtcNow()))
        {
            if (delta <= 0)
            {
                _tokensLeft -= delta;
                return;
            }

            long fromSlice = Math.Min(delta, _tokensLeft);
            _tokensLeft -= fromSlice;
            delta -= fromSlice;
        }

        _carried += delta;
    }

    /// <summary>Gives back requests spent by <c>TrySpend</c> for an attempt that was never sent
    /// (tokens are given back with <see cref="Reconcile"/> to zero actual tokens).</summary>
    internal void Unspend(long leaseId, long requests)
    {
        if (leaseId != 0 && leaseId == _lease.Id)
        {
            _requestsLeft += requests;
        }
    }

    /// <summary>True when the node should renew now: no active lease, below the low-water mark, or near expiry.</summary>
    public bool NeedsRenewal()
    {
        var now = _time.GetUtcNow();
        if (!IsActive(now))
        {
            return true;
        }

        return _priorityBlocked
            || _tokensLeft < _lease.Tokens * _options.LowWaterFraction
            || _requestsLeft < _lease.Requests * _options.LowWaterFraction
            || now >= _lease.ExpiresAt - _options.SafetyMargin - _options.RenewBeforeExpiry;
    }

    /// <summary>Closes the lease (for a return or a renewal): reports what is unused (nothing once expired,
    /// since the ledger forfeits it) and the carried reconciliation, and empties the wallet.</summary>
    public LeaseSettlement Settle()
    {
        bool active = IsActive(_time.GetUtcNow());
        var settlement = new LeaseSettlement(
            _lease.Id,
            active ? _tokensLeft : 0,
            active ? _requestsLeft : 0,
            _carried);
        _lease = default;
        _tokensLeft = 0;
        _requestsLeft = 0;
        _carried = 0;
        return settlement;
    }
}
