using ControlPlane.Domain.Quotas;

namespace ControlPlane.Service.Grains;

/// <summary>What a <see cref="SpendDesk"/> persists: the spend ledger, plus what makes grants and settlements safe to
/// retry (as for <see cref="QuotaDeskState"/>).</summary>
public sealed class SpendDeskState
{
    /// <summary>The spend ledger (null when the class has no ceiling).</summary>
    public SpendLedgerSnapshot? Ledger { get; set; }

    /// <summary>Per node: the request id of its last granted spend lease and the lease.</summary>
    public Dictionary<string, GrantRecord> LastGrants { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Per node: the highest spend lease id it settled; a settlement at or below it is a repeat.</summary>
    public Dictionary<string, long> LastSettled { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>A class's spend ceiling as the admin view shows it (US dollars).</summary>
/// <param name="UsdPerDay">The daily ceiling (0: none).</param>
/// <param name="UsdPerMonth">The monthly ceiling (0: none).</param>
/// <param name="Day">The current UTC day.</param>
/// <param name="DaySpentUsd">Settled spend in the day.</param>
/// <param name="Month">The current UTC month.</param>
/// <param name="MonthSpentUsd">Settled spend in the month.</param>
/// <param name="HeldUsd">Money in live leases held by nodes.</param>
/// <param name="Leases">The nodes holding spend leases (their <see cref="LeaseHolder.Tokens"/> are nano-dollars).</param>
[Immutable]
public sealed record SpendLevels(decimal UsdPerDay, decimal UsdPerMonth, DateTimeOffset Day, decimal DaySpentUsd, DateTimeOffset Month,
    decimal MonthSpentUsd, decimal HeldUsd, IReadOnlyList<LeaseHolder> Leases);

/// <summary>The lease-granting side of a class's spend ceiling: a <see cref="SpendLedger"/> restored from the grain's
/// persisted state, or nothing when the class has no ceiling. Grants are idempotent per node and request id, settlements
/// per node and lease id, exactly as <see cref="QuotaDesk"/> does for token budgets; each operation says whether the
/// state changed so the grain persists it before answering. Use it from grain turns only.</summary>
internal sealed class SpendDesk
{
    private readonly SpendCeiling? _ceiling;
    private readonly SpendLedger? _ledger;
    private readonly LeaseReplies _replies;

    private SpendDesk(SpendCeiling? ceiling, SpendLedger? ledger, SpendDeskState? saved)
    {
        _ceiling = ceiling;
        _ledger = ledger;
        _replies = new LeaseReplies(saved?.LastGrants, saved?.LastSettled);
    }

    /// <summary>A desk for <paramref name="ceiling"/> (null or no window limited: no ledger), carrying on from
    /// <paramref name="saved"/>.</summary>
    public static SpendDesk Create(SpendCeiling? ceiling, SpendDeskState? saved, LeaseOptions options, TimeProvider time)
    {
        if (ceiling is not { IsLimited: true })
        {
            return new SpendDesk(null, null, saved);
        }

        var ledger = new SpendLedger(ceiling, options, time);
        if (saved?.Ledger is { } snapshot)
        {
            ledger.Restore(snapshot);
        }

        return new SpendDesk(ceiling, ledger, saved);
    }

    /// <summary>The ledger's figures, or null without a ceiling.</summary>
    public SpendFigures? Figures() => _ledger?.Figures();

    /// <summary>Grants a slice of the money left (<see cref="LeaseRequest.Tokens"/> are nano-dollars); null without a
    /// ceiling or when nothing is left. A repeated request id from the same node gets the same lease.</summary>
    public QuotaLease? Grant(LeaseRequest request, out bool changed)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentException.ThrowIfNullOrEmpty(request.NodeId);
        ArgumentException.ThrowIfNullOrEmpty(request.RequestId);
        if (_ledger is null)
        {
            changed = false;
            return null;
        }

        if (_replies.TryRepeat(request, out var repeated))
        {
            changed = false;
            return repeated;
        }

        bool expired = _ledger.ExpireDue() > 0;
        bool granted = _ledger.TryGrant(request.NodeId, Math.Clamp(request.Tokens, 0, SpendUnits.MaxCost), out var lease);
        if (granted)
        {
            _replies.Granted(request, lease);
        }

        changed = granted || expired;
        return granted ? lease : null;
    }

    /// <summary>Takes back a spend lease's unused money and its carried reconciliation; true when the state changed.
    /// Refuses (<see cref="ArgumentException"/>) a live lease held by another node; ignores a repeat.</summary>
    public bool Settle(string nodeId, in LeaseSettlement settlement)
    {
        ArgumentException.ThrowIfNullOrEmpty(nodeId);
        if (_ledger is null || settlement.LeaseId <= 0)
        {
            return false;
        }

        if (!_replies.IsNew(nodeId, settlement, _ledger.LiveLeases, "spend lease"))
        {
            return false;
        }

        _ledger.Settle(settlement);
        _replies.Settled(nodeId, settlement.LeaseId);
        return true;
    }

    /// <summary>Grants a slice and, when the state changed, persists it before answering.</summary>
    public async Task<QuotaLease?> GrantAsync(LeaseRequest request, Func<Task> persist)
    {
        var lease = Grant(request, out var changed);
        if (changed)
        {
            await persist();
        }

        return lease;
    }

    /// <summary>Settles a lease and persists the state when it changed.</summary>
    public async Task SettleAsync(string nodeId, LeaseSettlement settlement, Func<Task> persist)
    {
        if (Settle(nodeId, settlement))
        {
            await persist();
        }
    }

    /// <summary>Forfeits leases past their expiry; true when any was.</summary>
    public bool ExpireDue() => _ledger?.ExpireDue() > 0;

    /// <summary>The state to persist.</summary>
    public SpendDeskState Export() => new()
    {
        Ledger = _ledger?.Export(),
        LastGrants = _replies.ExportGrants(),
        LastSettled = _replies.ExportSettled(),
    };

    /// <summary>Levels for the admin view; null without a ceiling.</summary>
    public SpendLevels? Levels(DateTimeOffset now)
    {
        if (_ledger is null || _ceiling is null)
        {
            return null;
        }

        var f = _ledger.Figures();
        return new SpendLevels(_ceiling.UsdPerDay, _ceiling.UsdPerMonth, f.Day, SpendUnits.ToUsd(f.DaySpent), f.Month, SpendUnits.ToUsd(f.MonthSpent),
            SpendUnits.ToUsd(f.Held), [.. _ledger.LiveLeases.Where(l => l.ExpiresAt > now).Select(l => new LeaseHolder(l.NodeId, l.Id, l.Tokens, 0, l.ExpiresAt))]);
    }
}
