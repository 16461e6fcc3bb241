namespace ControlPlane.Domain.Quotas;

/// <summary>
/// The grain side of a class's spend ceiling: a ledger of money spent in the current UTC day and UTC calendar month,
/// from which nodes are leased slices (<see cref="QuotaLease"/>s whose <see cref="QuotaLease.Tokens"/> count
/// nano-dollars; they spend them with a <see cref="LeaseWallet"/>). Money in live leases is held: at every instant
/// <c>spent + held &lt;= ceiling</c> in both windows, so the nodes together can never admit more than the ceiling
/// (reconciled costs above a request's estimate are the only excess, and the estimate is the maximum output).
/// A lease never outlives the day it was granted in (it expires at the next 00:00 UTC at the latest), so every
/// lease's spend belongs to one day and one month. What a node returns unused goes back; a lease not returned by its
/// expiry is forfeited as spent in full (the node may have spent it). All arithmetic is checked. Not thread-safe:
/// use it from grain turns.
/// </summary>
public sealed class SpendLedger
{
    private readonly long _dayCeiling;
    private readonly long _monthCeiling;
    private readonly LeaseOptions _options;
    private readonly TimeProvider _time;
    private readonly Dictionary<long, QuotaLease> _live = [];
    // Leases cut short by the last midnight and forfeited there: a node settles its lease right after midnight, so what
    // it reports unused is given back to the month (the day is over) instead of staying charged.
    private readonly Dictionary<long, QuotaLease> _cutAtMidnight = [];
    private DateTimeOffset _day;
    private DateTimeOffset _month;
    private long _daySpent;
    private long _monthSpent;
    private long _held;
    private long _nextId = 1;
    private bool _dayDry;
    private bool _monthDry;

    /// <summary>Creates an empty ledger for <paramref name="ceiling"/> starting in the current day and month.</summary>
    public SpendLedger(SpendCeiling ceiling, LeaseOptions options, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(ceiling);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        if (!ceiling.TryValidate(out var field, out var message))
        {
            throw new ArgumentException($"{field}: {message}", nameof(ceiling));
        }

        options.Validate(TimeSpan.FromDays(1));
        _dayCeiling = ceiling.DayNanos;
        _monthCeiling = ceiling.MonthNanos;
        _options = options;
        _time = time;
        var now = time.GetUtcNow();
        _day = DayOf(now);
        _month = MonthOf(now);
    }

    /// <summary>Leases granted and not yet returned or forfeited.</summary>
    public int LiveCount => _live.Count;

    /// <summary>The live leases, by id.</summary>
    public IEnumerable<QuotaLease> LiveLeases => _live.Values.OrderBy(lease => lease.Id);

    /// <summary>The ledger's figures now (rolls the windows first).</summary>
    public SpendFigures Figures()
    {
        Roll();
        return new SpendFigures(_day, _daySpent, _dayCeiling, _month, _monthSpent, _monthCeiling, _held)
        {
            DayExhausted = _dayDry,
            MonthExhausted = _monthDry,
        };
    }

    /// <summary>Money that can still be leased now: the smaller of what is left in the day and in the month (a window
    /// without a ceiling does not limit).</summary>
    public long Available()
    {
        Roll();
        return Math.Min(Left(_dayCeiling, _daySpent), Left(_monthCeiling, _monthSpent));
    }

    /// <summary>Grants <paramref name="nodeId"/> up to <paramref name="nanos"/>, less if less is left; fails when nothing
    /// is left. The lease expires after <see cref="LeaseOptions.Duration"/> or at the next 00:00 UTC, whichever is first.
    /// A grant cut short or refused by a window marks that window exhausted (<see cref="SpendFigures.DayExhausted"/>)
    /// until a grant fits in full again or the window rolls over.</summary>
    public bool TryGrant(string nodeId, long nanos, out QuotaLease lease)
    {
        ArgumentException.ThrowIfNullOrEmpty(nodeId);
        ArgumentOutOfRangeException.ThrowIfNegative(nanos);
        Roll();
        long dayLeft = Left(_dayCeiling, _daySpent);
        long monthLeft = Left(_monthCeiling, _monthSpent);
        long grant = Math.Min(nanos, Math.Min(dayLeft, monthLeft));
        _dayDry = dayLeft < nanos && dayLeft <= monthLeft;
        _monthDry = monthLeft < nanos && monthLeft <= dayLeft;
        if (grant <= 0)
        {
            lease = default;
            return false;
        }

        var now = _time.GetUtcNow();
        var expires = now + _options.Duration;
        var midnight = _day.AddDays(1);
        lease = new QuotaLease(_nextId++, nodeId, grant, 0, now, expires < midnight ? expires : midnight);
        _held = checked(_held + grant);
        _live.Add(lease.Id, lease);
        return true;
    }

    /// <summary>Closes a lease with what the node reports: the part it spent (granted less unused) is charged to the
    /// lease's day and month, the unused part comes back (a lease already forfeited was charged in full). The carried
    /// reconciliation is charged (positive) or credited (negative, never below zero) to the current windows whatever the
    /// lease's state. Returns false if the lease was not live.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A figure is outside what any node can report.</exception>
    public bool Settle(in LeaseSettlement settlement)
    {
        if (settlement.UnusedTokens < 0 || settlement.CarriedTokens is < -SpendUnits.MaxCost or > SpendUnits.MaxCost)
        {
            throw new ArgumentOutOfRangeException(nameof(settlement), settlement, "spend settlement: unused must not be negative and the carried amount must be within the cost bound");
        }

        Roll();
        bool live = _live.Remove(settlement.LeaseId, out var lease);
        if (live)
        {
            _held = checked(_held - lease.Tokens);
            Charge(lease.Tokens - Math.Min(settlement.UnusedTokens, lease.Tokens));
        }
        else if (_cutAtMidnight.Remove(settlement.LeaseId, out var cut) && MonthOf(cut.GrantedAt) == _month)
        {
            _monthSpent = Math.Max(0, _monthSpent - Math.Min(settlement.UnusedTokens, cut.Tokens));
        }

        if (settlement.CarriedTokens > 0)
        {
            Charge(settlement.CarriedTokens);
        }
        else if (settlement.CarriedTokens < 0)
        {
            _daySpent = Math.Max(0, _daySpent + settlement.CarriedTokens);
            _monthSpent = Math.Max(0, _monthSpent + settlement.CarriedTokens);
        }

        return live;
    }

    /// <summary>Forfeits every lease past its expiry, charging it in full to its day and month (they are still the
    /// current ones: a lease ends by midnight, and the windows roll only after it is forfeited). Returns how many.</summary>
    public int ExpireDue() => Expire(_time.GetUtcNow());

    /// <summary>Everything needed to carry this ledger over a restart or an activation move.</summary>
    public SpendLedgerSnapshot Export() => new(_day, _daySpent, _month, _monthSpent, [.. LiveLeases], _nextId)
    {
        DayExhausted = _dayDry,
        MonthExhausted = _monthDry,
        CutAtMidnight = [.. _cutAtMidnight.Values.OrderBy(lease => lease.Id)],
    };

    /// <summary>Replaces this ledger's state with <paramref name="snapshot"/> (then rolls the windows to now: a snapshot
    /// from an earlier day or month starts the new window empty, after forfeiting its leases to the old one).</summary>
    /// <exception cref="ArgumentException">The snapshot cannot come from a ledger; the ledger is left unchanged.</exception>
    public void Restore(SpendLedgerSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        ArgumentNullException.ThrowIfNull(snapshot.Leases);
        if (snapshot.DaySpent < 0 || snapshot.MonthSpent < 0 || snapshot.Day != DayOf(snapshot.Day) || snapshot.Month != MonthOf(snapshot.Month)
            || snapshot.Month != MonthOf(snapshot.Day))
        {
            throw new ArgumentException("spend ledger snapshot: bad window or amount", nameof(snapshot));
        }

        var ids = new HashSet<long>();
        long held = 0;
        foreach (var lease in snapshot.Leases)
        {
            if (lease.Id <= 0 || !ids.Add(lease.Id) || string.IsNullOrEmpty(lease.NodeId) || lease.Tokens <= 0 || lease.Tokens > SpendUnits.MaxCost
                || lease.ExpiresAt > snapshot.Day.AddDays(1))
            {
                throw new ArgumentException($"spend ledger snapshot: lease {lease.Id} has a bad id, node, amount or expiry", nameof(snapshot));
            }

            held = checked(held + lease.Tokens);
        }

        _live.Clear();
        foreach (var lease in snapshot.Leases)
        {
            _live.Add(lease.Id, lease);
        }

        _cutAtMidnight.Clear();
        foreach (var lease in snapshot.CutAtMidnight ?? [])
        {
            if (lease.Id > 0 && lease.Tokens is > 0 and <= SpendUnits.MaxCost && !ids.Contains(lease.Id))
            {
                _cutAtMidnight[lease.Id] = lease;
            }
        }

        (_day, _daySpent, _month, _monthSpent, _held) = (snapshot.Day, snapshot.DaySpent, snapshot.Month, snapshot.MonthSpent, held);
        (_dayDry, _monthDry) = (snapshot.DayExhausted, snapshot.MonthExhausted);
        _nextId = Math.Max(Math.Max(1, snapshot.NextLeaseId), ids.Count == 0 ? 1 : ids.Max() + 1);
        Roll();
    }

    /// <summary>The UTC day containing <paramref name="at"/> (its 00:00 UTC).</summary>
    public static DateTimeOffset DayOf(DateTimeOffset at)
    {
        var utc = at.UtcDateTime;
        return new DateTimeOffset(utc.Year, utc.Month, utc.Day, 0, 0, 0, TimeSpan.Zero);
    }

    /// <summary>The UTC calendar month containing <paramref name="at"/> (its first day, 00:00 UTC).</summary>
    public static DateTimeOffset MonthOf(DateTimeOffset at)
    {
        var utc = at.UtcDateTime;
        return new DateTimeOffset(utc.Year, utc.Month, 1, 0, 0, 0, TimeSpan.Zero);
    }

    // Forfeits what is due (into the windows it was granted in), then moves the windows to now.
    private void Roll()
    {
        var now = _time.GetUtcNow();
        Expire(now);
        var day = DayOf(now);
        if (day <= _day)
        {
            return;
        }

        // Every live lease ended by the old day's midnight, so none is left to charge to it; only the leases cut by the
        // midnight just passed can still be settled for the month.
        foreach (var id in _cutAtMidnight.Where(pair => pair.Value.ExpiresAt < day).Select(pair => pair.Key).ToList())
        {
            _cutAtMidnight.Remove(id);
        }

        _day = day;
        _daySpent = 0;
        _dayDry = false;
        var month = MonthOf(now);
        if (month > _month)
        {
            _month = month;
            _monthSpent = 0;
            _monthDry = false;
        }
    }

    private int Expire(DateTimeOffset now)
    {
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

        foreach (var lease in _live.Values.Where(l => l.ExpiresAt <= now).ToList())
        {
            _live.Remove(lease.Id);
            _held = checked(_held - lease.Tokens);
            Charge(lease.Tokens);
            if (lease.ExpiresAt == DayOf(lease.GrantedAt).AddDays(1))
            {
                _cutAtMidnight[lease.Id] = lease;
            }
        }

        return expired;
    }

    // Spend can pass the ceiling only by reconciled excess; it saturates rather than wraps.
    private void Charge(long nanos)
    {
        _daySpent = Saturating(_daySpent, nanos);
        _monthSpent = Saturating(_monthSpent, nanos);
    }

    private static long Saturating(long a, long b) => b > long.MaxValue - a ? long.MaxValue : a + b;

    private long Left(long ceiling, long spent) => ceiling <= 0 ? SpendUnits.MaxCost : Math.Max(0, ceiling - spent - _held);
}

/// <summary>A spend ledger's figures (nano-dollars).</summary>
/// <param name="Day">The current UTC day (00:00 UTC).</param>
/// <param name="DaySpent">Settled and forfeited spend in the day.</param>
/// <param name="DayCeiling">The daily ceiling (0: none).</param>
/// <param name="Month">The current UTC month (its first day, 00:00 UTC).</param>
/// <param name="MonthSpent">Settled and forfeited spend in the month.</param>
/// <param name="MonthCeiling">The monthly ceiling (0: none).</param>
/// <param name="Held">Money in live leases (leased, not settled yet).</param>
public readonly record struct SpendFigures(DateTimeOffset Day, long DaySpent, long DayCeiling, DateTimeOffset Month, long MonthSpent, long MonthCeiling, long Held)
{
    /// <summary>True when the day's money ran out for a grant (refused or cut short) and no grant has fitted since.</summary>
    public bool DayExhausted { get; init; }

    /// <summary>True when the month's money ran out for a grant and no grant has fitted since.</summary>
    public bool MonthExhausted { get; init; }

    /// <summary>Share of the daily ceiling committed (spent plus held: what can no longer be leased); 0 without a ceiling.</summary>
    public double DayFraction => DayCeiling <= 0 ? 0 : (DaySpent + (double)Held) / DayCeiling;

    /// <summary>Share of the monthly ceiling committed; 0 without a ceiling.</summary>
    public double MonthFraction => MonthCeiling <= 0 ? 0 : (MonthSpent + (double)Held) / MonthCeiling;
}

/// <summary>The persisted state of a <see cref="SpendLedger"/>.</summary>
/// <param name="Day">The day the figures are for.</param>
/// <param name="DaySpent">Spend in that day (nano-dollars).</param>
/// <param name="Month">The month the figures are for.</param>
/// <param name="MonthSpent">Spend in that month (nano-dollars).</param>
/// <param name="Leases">The live leases (their <see cref="QuotaLease.Tokens"/> are nano-dollars).</param>
/// <param name="NextLeaseId">The id the next grant gets.</param>
public sealed record SpendLedgerSnapshot(DateTimeOffset Day, long DaySpent, DateTimeOffset Month, long MonthSpent, IReadOnlyList<QuotaLease> Leases, long NextLeaseId)
{
    /// <summary>See <see cref="SpendFigures.DayExhausted"/>.</summary>
    public bool DayExhausted { get; init; }

    /// <summary>See <see cref="SpendFigures.MonthExhausted"/>.</summary>
    public bool MonthExhausted { get; init; }

    /// <summary>Leases forfeited at the last midnight (they ended with their day) whose unused money a late settlement
    /// still gives back to the month.</summary>
    public IReadOnlyList<QuotaLease>? CutAtMidnight { get; init; }
}
