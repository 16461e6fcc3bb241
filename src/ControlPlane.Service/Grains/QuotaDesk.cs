using ControlPlane.Domain.Quotas;

namespace ControlPlane.Service.Grains;

/// <summary>The lease-granting side of a grain that owns a quota (an endpoint's TPM/RPM, a workload class's
/// budget): a <see cref="QuotaLeaseLedger"/> restored from the grain's persisted snapshot, or nothing when the
/// quota is unlimited. Each operation says whether the ledger changed, so the grain persists it before answering.
/// Use it from grain turns only.</summary>
internal sealed class QuotaDesk
{
    private readonly QuotaLeaseLedger? _ledger;

    private QuotaDesk(QuotaLimits limits, QuotaLeaseLedger? ledger)
    {
        Limits = limits;
        _ledger = ledger;
    }

    /// <summary>The limits the desk carves leases from.</summary>
    public QuotaLimits Limits { get; }

    /// <summary>A desk for <paramref name="limits"/> (null or all-zero: unlimited, no ledger), carrying on from
    /// <paramref name="saved"/>: leases granted by a previous activation are still being spent.</summary>
    public static QuotaDesk Create(QuotaLimits? limits, QuotaLedgerSnapshot? saved, LeaseOptions options, TimeProvider time)
    {
        limits ??= new QuotaLimits();
        if (limits.TokensPerPeriod <= 0 && limits.RequestsPerPeriod <= 0)
        {
            return new QuotaDesk(limits, null);
        }

        var ledger = new QuotaLeaseLedger(new RateQuota(limits, time), options, time);
        if (saved is not null)
        {
            ledger.Restore(saved);
        }

        return new QuotaDesk(limits, ledger);
    }

    /// <summary>Grants a slice; null when unlimited or when the bucket has nothing left. <paramref name="changed"/>
    /// is true when the ledger must be persisted (a grant, or leases forfeited on the way).</summary>
    public QuotaLease? Grant(string nodeId, long tokens, long requests, out bool changed)
    {
        if (_ledger is null)
        {
            changed = false;
            return null;
        }

        bool expired = _ledger.ExpireDue() > 0;
        bool granted = _ledger.TryGrant(nodeId, tokens, requests, out var lease);
        changed = granted || expired;
        return granted ? lease : null;
    }

    /// <summary>Takes back a lease's unused units and its carried reconciliation; true when the ledger changed.</summary>
    public bool Settle(in LeaseSettlement settlement)
    {
        if (_ledger is null)
        {
            return false;
        }

        bool expired = _ledger.ExpireDue() > 0;
        bool live = _ledger.Settle(settlement);
        return live || expired || settlement.CarriedTokens != 0;
    }

    /// <summary>Grants a slice and, when the ledger changed, persists it before answering: a lease a node holds must
    /// survive a move. If the write fails the node gets the error and the lease stays held until it expires (idle
    /// quota, never overspend).</summary>
    public async Task<QuotaLease?> GrantAsync(string nodeId, long tokens, long requests, Func<Task> persist)
    {
        var lease = Grant(nodeId, tokens, requests, out var changed);
        if (changed)
        {
            await persist();
        }

        return lease;
    }

    /// <summary>Settles a lease and persists the ledger when it changed.</summary>
    public async Task SettleAsync(LeaseSettlement settlement, Func<Task> persist)
    {
        if (Settle(settlement))
        {
            await persist();
        }
    }

    /// <summary>Forfeits leases past their expiry; true when any was.</summary>
    public bool ExpireDue() => _ledger?.ExpireDue() > 0;

    /// <summary>The ledger to persist (null when unlimited).</summary>
    public QuotaLedgerSnapshot? Export() => _ledger?.Export();

    /// <summary>Levels for the admin view.</summary>
    public QuotaLevels Levels() => new(
        Limits.TokensPerPeriod,
        Limits.RequestsPerPeriod,
        _ledger?.Quota.Tokens is null ? null : _ledger.Quota.AvailableTokens,
        _ledger?.Quota.Requests is null ? null : _ledger.Quota.AvailableRequests,
        _ledger?.OutstandingTokens ?? 0,
        _ledger?.OutstandingRequests ?? 0);

    /// <summary>Nodes holding live leases.</summary>
    public IReadOnlyList<LeaseHolder> Holders(DateTimeOffset now) => [.. (_ledger?.LiveLeases ?? []).Where(l => l.ExpiresAt > now)
        .Select(l => new LeaseHolder(l.NodeId, l.Id, l.Tokens, l.Requests, l.ExpiresAt))];
}
