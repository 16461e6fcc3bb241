namespace ControlPlane.Domain.Quotas;

/// <summary>
/// A token bucket with continuous, exact integer refill: <see cref="Capacity"/> units per <see cref="Period"/>,
/// credited tick by tick with the division remainder carried, so refill never drifts and is exact to the tick.
/// Besides plain takes it supports <em>holds</em> (lease slices carved out of the bucket): held units are
/// neither in the bucket nor refilled, so <c>Level + Held</c> never exceeds <see cref="Capacity"/>.
/// Not thread-safe: the owner (one grain activation, one node wallet) serialises calls.
/// </summary>
public sealed class TokenBucket
{
    private readonly TimeProvider _time;
    private readonly long _periodTicks;
    private long _level;
    private long _held;
    private long _lastTicks;
    private long _remainder;

    /// <summary>Creates a full bucket.</summary>
    /// <param name="capacity">Units per period and maximum burst; must be positive.</param>
    /// <param name="period">Refill period; must be positive.</param>
    /// <param name="time">Clock.</param>
    public TokenBucket(long capacity, TimeSpan period, TimeProvider time)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(period, TimeSpan.Zero);
        ArgumentNullException.ThrowIfNull(time);
        Capacity = capacity;
        Period = period;
        _periodTicks = period.Ticks;
        _time = time;
        _level = capacity;
        _lastTicks = time.GetUtcNow().UtcTicks;
    }

    /// <summary>Units refilled per <see cref="Period"/> and the largest possible level.</summary>
    public long Capacity { get; }

    /// <summary>The refill period.</summary>
    public TimeSpan Period { get; }

    /// <summary>Units in the bucket now; negative while in debt after an extra charge.</summary>
    public long Level => LevelAt(Now());

    /// <summary>Units that can be taken now (never negative).</summary>
    public long Available => Math.Max(0, LevelAt(Now()));

    /// <summary>Units carved out by open holds (lease slices not yet settled).</summary>
    public long Held => _held;

    /// <summary>Net units charged since creation: takes and forced charges minus refunds, plus settled holds'
    /// spent part. Exact: once every reservation is reconciled this equals the actual units used.</summary>
    public long NetCharged { get; private set; }

    /// <summary>Takes <paramref name="amount"/> units if the bucket has them.</summary>
    public bool TryTake(long amount) => TryTakeAt(amount, Now());

    /// <summary>Charges <paramref name="amount"/> units unconditionally (an outcome used more than reserved);
    /// the level may go negative, which delays later admissions until refill pays the debt.</summary>
    public void Charge(long amount) => ChargeAt(amount, Now());

    /// <summary>Gives back <paramref name="amount"/> units charged earlier (an outcome used less than reserved).
    /// The level is capped at capacity minus holds: units refunded into a full bucket were already replaced.</summary>
    public void Refund(long amount) => RefundAt(amount, Now());

    /// <summary>The level at <paramref name="nowTicks"/> (UTC ticks read once by a caller doing several operations).</summary>
    internal long LevelAt(long nowTicks)
    {
        Refill(nowTicks);
        return _level;
    }

    internal bool TryTakeAt(long amount, long nowTicks)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(amount);
        Refill(nowTicks);
        if (_level < amount)
        {
            return false;
        }

        _level -= amount;
        NetCharged += amount;
        return true;
    }

    internal void ChargeAt(long amount, long nowTicks)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(amount);
        Refill(nowTicks);
        _level -= amount;
        NetCharged += amount;
    }

    internal void RefundAt(long amount, long nowTicks)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(amount);
        Refill(nowTicks);
        _level = Math.Min(Capacity - _held, _level + amount);
        NetCharged -= amount;
    }

    /// <summary>Carves <paramref name="amount"/> units out of the bucket into a hold (a lease slice).</summary>
    public bool TryHold(long amount)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(amount);
        Refill(Now());
        if (_level < amount)
        {
            return false;
        }

        _level -= amount;
        _held += amount;
        NetCharged += amount;
        return true;
    }

    /// <summary>Closes a hold of <paramref name="held"/> units of which <paramref name="unused"/> come back.</summary>
    public void EndHold(long held, long unused)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(held);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(held, _held);
        ArgumentOutOfRangeException.ThrowIfNegative(unused);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(unused, held);
        Refill(Now());
        _held -= held;
        _level = Math.Min(Capacity - _held, _level + unused);
        NetCharged -= unused;
    }

    /// <summary>How long until <paramref name="amount"/> units are available (zero if they are now; the
    /// value for a 429's Retry-After or a rate-limit cooldown). Assumes no holds end meanwhile.</summary>
    public TimeSpan TimeUntilAvailable(long amount)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(amount);
        Refill(Now());
        if (_level >= amount)
        {
            return TimeSpan.Zero;
        }

        if (amount > Capacity - _held)
        {
            return TimeSpan.MaxValue;
        }

        // Ticks t such that (Capacity * t + remainder) / period >= need, i.e. the exact refill instant.
        Int128 need = amount - _level;
        Int128 numerator = (need * _periodTicks) - _remainder;
        Int128 ticks = (numerator + Capacity - 1) / Capacity;
        return TimeSpan.FromTicks((long)ticks);
    }

    /// <summary>Everything needed to carry this bucket over a restart or an activation move (see <see cref="Restore"/>).</summary>
    public TokenBucketSnapshot Export()
    {
        Refill(Now());
        return new TokenBucketSnapshot(Capacity, Period, _level, _held, NetCharged, _remainder, new DateTimeOffset(_lastTicks, TimeSpan.Zero));
    }

    /// <summary>Replaces this bucket's state with <paramref name="snapshot"/>, then refills from the snapshot's instant to now,
    /// capped as usual: under the same capacity and period the bucket is exactly the exported one, as if it had sat idle
    /// meanwhile. A snapshot taken under other limits keeps its holds and its spend not yet refilled
    /// (<c>capacity - level - held</c>), measured against this bucket's capacity: a changed limit never hands out a fresh burst,
    /// and the level may start negative (debt) when the limit shrank below what was spent.</summary>
    /// <exception cref="ArgumentException">The snapshot's figures cannot come from a bucket.</exception>
    public void Restore(TokenBucketSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        RestoreHolding(snapshot, snapshot.Held);
    }

    /// <summary><see cref="Restore"/> with the holds given by the caller (the ledger counts them from its leases). A null
    /// snapshot (the dimension was unlimited) starts full less the holds.</summary>
    internal void RestoreHolding(TokenBucketSnapshot? snapshot, long held)
    {
        snapshot?.Validate();
        ArgumentOutOfRangeException.ThrowIfNegative(held);
        long now = Now();
        if (snapshot is null)
        {
            // Nothing was counted while unlimited: the holds are the only known spend.
            _held = held;
            _level = Capacity - held;
            NetCharged = held;
            _remainder = 0;
            _lastTicks = now;
            return;
        }

        bool sameLimits = snapshot.Capacity == Capacity && snapshot.Period == Period;
        long unrefilled = snapshot.Capacity - snapshot.Level - snapshot.Held;
        _held = held;
        _level = Capacity - held - unrefilled;
        NetCharged = snapshot.NetCharged;

        // Sub-unit refill progress means nothing at another rate; dropping it delays the next unit, never adds one.
        _remainder = sameLimits ? snapshot.Remainder : 0;
        _lastTicks = snapshot.At.UtcTicks;
        Refill(now);
    }

    private long Now() => _time.GetUtcNow().UtcTicks;

    private void Refill(long now)
    {
        long elapsed = now - _lastTicks;
        if (elapsed <= 0)
        {
            // A wall clock that stepped back refills nothing and does not move the anchor.
            return;
        }

        _lastTicks = now;
        long ceiling = Capacity - _held;
        if (_level >= ceiling)
        {
            _remainder = 0;
            return;
        }

        Int128 numerator = ((Int128)Capacity * elapsed) + _remainder;
        Int128 add = numerator / _periodTicks;
        if (add >= ceiling - _level)
        {
            _level = ceiling;
            _remainder = 0;
        }
        else
        {
            _level += (long)add;
            _remainder = (long)(numerator % _periodTicks);
        }
    }
}
