using ControlPlane.Domain.Quotas;

namespace ControlPlane.Service.Grains;

/// <summary>What a <see cref="QuotaDesk"/> persists: the ledger, plus what makes grants and settlements safe to retry
/// (the last grant answered to each node, by request id, and the newest lease each node settled).</summary>
public sealed class QuotaDeskState
{
    /// <summary>The lease ledger (null when the quota is unlimited).</summary>
    public QuotaLedgerSnapshot? Ledger { get; set; }

    /// <summary>Per node: the request id of its last granted lease and the lease.</summary>
    public Dictionary<string, GrantRecord> LastGrants { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Per node: the highest lease id it settled; a settlement at or below it is a repeat.</summary>
    public Dictionary<string, long> LastSettled { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>A grant as answered, kept so a retried request gets the same lease.</summary>
/// <param name="RequestId">The request's id.</param>
/// <param name="Lease">The lease granted.</param>
public sealed record GrantRecord(string RequestId, QuotaLease Lease);

/// <summary>The lease-granting side of a grain that owns a quota (an endpoint's TPM/RPM, a workload class's
/// budget): a <see cref="QuotaLeaseLedger"/> restored from the grain's persisted state, or nothing when the quota is
/// unlimited. Each operation says whether its state changed, so the grain persists it before answering.
/// Use it from grain turns only.</summary>
internal sealed class QuotaDesk
{
    private readonly QuotaLeaseLedger? _ledger;
    private readonly Dictionary<string, GrantRecord> _lastGrants;
    private readonly Dictionary<string, long> _lastSettled;

    private readonly LeaseDemandBook _demand;
    private readonly TimeProvider _time;

    private QuotaDesk(QuotaLimits limits, QuotaLeaseLedger? ledger, QuotaDeskState? saved, LeaseOptions options, TimeProvider time)
    {
        Limits = limits;
        _ledger = ledger;
        _time = time;
        _demand = new LeaseDemandBook(options.Duration);
        _lastGrants = new(saved?.LastGrants ?? [], StringComparer.Ordinal);
        _lastSettled = new(saved?.LastSettled ?? [], StringComparer.Ordinal);
    }

    /// <summary>The limits the desk carves leases from.</summary>
    public QuotaLimits Limits { get; }

    /// <summary>A desk for <paramref name="limits"/> (null or all-zero: unlimited, no ledger), carrying on from
    /// <paramref name="saved"/>: leases granted by a previous activation are still being spent.</summary>
    public static QuotaDesk Create(QuotaLimits? limits, QuotaDeskState? saved, LeaseOptions options, TimeProvider time)
    {
        limits ??= new QuotaLimits();
        if (limits.TokensPerPeriod <= 0 && limits.RequestsPerPeriod <= 0)
        {
            return new QuotaDesk(limits, null, saved, options, time);
        }

        var ledger = new QuotaLeaseLedger(new RateQuota(limits, time), options, time);
        if (saved?.Ledger is { } snapshot)
        {
            ledger.Restore(snapshot);
        }

        return new QuotaDesk(limits, ledger, saved, options, time);
    }

    /// <summary>Grants a slice; null when unlimited or when the bucket has nothing left. A request id that was already
    /// answered to the same node gets the same lease (Orleans may deliver a call twice, and a node retries an attempt
    /// whose answer it did not receive with the same id). <paramref name="changed"/> is true when the state must be
    /// persisted before answering.</summary>
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

        if (_lastGrants.TryGetValue(request.NodeId, out var last) && last.RequestId == request.RequestId)
        {
            changed = false;
            return last.Lease;
        }

        bool expired = _ledger.ExpireDue() > 0;
        // Sized from every recent asker's demand and the bucket's level: a contended bucket is split by demand.
        var now = _time.GetUtcNow();
        var quota = _ledger.Quota;
        var (tokens, requests) = _demand.Size(request, quota.Tokens is null ? long.MaxValue : quota.AvailableTokens,
            quota.Requests is null ? long.MaxValue : quota.AvailableRequests, now);
        bool granted = _ledger.TryGrant(request.NodeId, tokens, requests, out var lease);
        _demand.Record(request, granted ? lease.Tokens : 0, granted ? lease.Requests : 0, now);
        if (granted)
        {
            _lastGrants[request.NodeId] = new GrantRecord(request.RequestId, lease);
        }

        changed = granted || expired;
        return granted ? lease : null;
    }

    /// <summary>Takes back a lease's unused units and its carried reconciliation; true when the state changed.
    /// Refuses (<see cref="ArgumentException"/>) a live lease held by another node; ignores a repeat.</summary>
    public bool Settle(string nodeId, in LeaseSettlement settlement)
    {
        ArgumentException.ThrowIfNullOrEmpty(nodeId);
        if (_ledger is null || settlement.LeaseId <= 0)
        {
            return false;
        }

        foreach (var live in _ledger.LiveLeases)
        {
            if (live.Id == settlement.LeaseId && !string.Equals(live.NodeId, nodeId, StringComparison.Ordinal))
            {
                throw new ArgumentException($"lease {settlement.LeaseId} is held by node '{live.NodeId}', not '{nodeId}'", nameof(nodeId));
            }
        }

        if (_lastSettled.TryGetValue(nodeId, out var newest) && settlement.LeaseId <= newest)
        {
            return false;
        }

        _lastSettled[nodeId] = settlement.LeaseId;
        _ledger.ExpireDue();
        _ledger.Settle(settlement);
        return true;
    }

    /// <summary>Grants a slice and, when the state changed, persists it (<paramref name="persist"/>) before answering: a
    /// lease a node holds must survive a move. If the write fails the node gets the error; the grain reloads.</summary>
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
    public QuotaDeskState Export() => new()
    {
        Ledger = _ledger?.Export(),
        LastGrants = new(_lastGrants, StringComparer.Ordinal),
        LastSettled = new(_lastSettled, StringComparer.Ordinal),
    };

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
