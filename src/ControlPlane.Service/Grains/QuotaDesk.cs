using ControlPlane.Domain.Quotas;
using Orleans.Storage;

namespace ControlPlane.Service.Grains;

/// <summary>What a <see cref="QuotaDesk"/> persists: the ledger, plus what makes grants and settlements safe to retry
/// (the last grant answered to each node, by request id, and the newest lease each node settled).</summary>
public sealed partial class QuotaDeskState
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
internal sealed partial class QuotaDesk
{
    private readonly QuotaLeaseLedger? _ledger;
    private readonly LeaseReplies _replies;

    private readonly LeaseDemandBook _demand;
    private readonly TimeProvider _time;
    private readonly long _outageTokens;
    private readonly long _outageRequests;
    private long _unwrittenTokens;
    private long _unwrittenRequests;

    private QuotaDesk(QuotaLimits limits, QuotaLeaseLedger? ledger, QuotaDeskState? saved, LeaseOptions options, TimeProvider time, double outageShare)
    {
        Limits = limits;
        _ledger = ledger;
        _time = time;
        _demand = new LeaseDemandBook(options.Duration);
        _outageTokens = (long)(limits.TokensPerPeriod * outageShare);
        _outageRequests = (long)(limits.RequestsPerPeriod * outageShare);
        _replies = new LeaseReplies(saved?.LastGrants, saved?.LastSettled);
    }

    /// <summary>True while the desk holds changes its last write could not store (storage unreachable): grants are then
    /// limited to the outage share, and the next write (a grant, a settlement or the grain's timer) stores them.</summary>
    public bool Unwritten { get; private set; }

    /// <summary>The limits the desk carves leases from.</summary>
    public QuotaLimits Limits { get; }

    /// <summary>A desk for <paramref name="limits"/> (null or all-zero: unlimited, no ledger), carrying on from
    /// <paramref name="saved"/>: leases granted by a previous activation are still being spent. <paramref name="outageShare"/> is the
    /// share of the limit the desk may grant while its writes fail (storage unreachable), in total until a write succeeds
    /// (see <see cref="GrantAsync"/>).</summary>
    public static QuotaDesk Create(QuotaLimits? limits, QuotaDeskState? saved, LeaseOptions options, TimeProvider time, double outageShare = 0)
    {
        limits ??= new QuotaLimits();
        if (limits.TokensPerPeriod <= 0 && limits.RequestsPerPeriod <= 0)
        {
            return new QuotaDesk(limits, null, saved, options, time, outageShare);
        }

        var ledger = new QuotaLeaseLedger(new RateQuota(limits, time), options, time);
        if (saved?.Ledger is { } snapshot)
        {
            ledger.Restore(snapshot);
        }

        return new QuotaDesk(limits, ledger, saved, options, time, outageShare) { _savedRegionBook = saved?.RegionBook };
    }

    /// <summary>Grants a slice; null when unlimited or when the bucket has nothing left. A request id that was already
    /// answered to the same node gets the same lease (Orleans may deliver a call twice, and a node retries an attempt
    /// whose answer it did not receive with the same id). <paramref name="changed"/> is true when the state must be
    /// persisted before answering.</summary>
    public QuotaLease? Grant(LeaseRequest request, out bool changed)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (Unwritten && _ledger is not null)
        {
            // Storage is unreachable: what is still granted is capped by what is left of the outage share.
            var capped = request with
            {
                Tokens = _ledger.Quota.Tokens is null ? request.Tokens : Math.Min(request.Tokens, Math.Max(0, _outageTokens - _unwrittenTokens)),
                Requests = _ledger.Quota.Requests is null ? request.Requests : Math.Min(request.Requests, Math.Max(0, _outageRequests - _unwrittenRequests)),
            };
            if ((capped.Tokens == 0 && request.Tokens > 0) || (capped.Requests == 0 && request.Requests > 0))
            {
                changed = false;
                return _replies.TryRepeat(request, out var repeated) ? repeated : null;
            }

            request = capped;
        }

        return GrantSized(request, out changed);
    }

    private QuotaLease? GrantSized(LeaseRequest request, out bool changed)
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
        expired |= SweepRegions();
        // Sized from every recent asker's demand and the bucket's level: a contended bucket is split by demand.
        var now = _time.GetUtcNow();
        var quota = _ledger.Quota;
        var (tokens, requests) = _demand.Size(request, quota.Tokens is null ? long.MaxValue : quota.AvailableTokens,
            quota.Requests is null ? long.MaxValue : quota.AvailableRequests, now);
        bool granted = _ledger.TryGrant(request.NodeId, tokens, requests, out var lease);
        _demand.Record(request, granted ? lease.Tokens : 0, granted ? lease.Requests : 0, now);
        if (granted)
        {
            _replies.Granted(request, lease);
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

        if (!_replies.IsNew(nodeId, settlement, _ledger.LiveLeases, "lease"))
        {
            return false;
        }

        _replies.Settled(nodeId, settlement.LeaseId);
        _ledger.ExpireDue();
        _ledger.Settle(settlement);
        return true;
    }

    /// <summary>The share of the quota's tokens and requests granted out or spent (0..1); null for an unlimited one.</summary>
    public (double? Tokens, double? Requests) Utilization()
    {
        if (_ledger is null)
        {
            return (null, null);
        }

        var quota = _ledger.Quota;
        double? tokens = quota.Tokens is null || Limits.TokensPerPeriod <= 0 ? null : 1 - ((double)quota.AvailableTokens / Limits.TokensPerPeriod);
        double? requests = quota.Requests is null || Limits.RequestsPerPeriod <= 0 ? null : 1 - ((double)quota.AvailableRequests / Limits.RequestsPerPeriod);
        return (tokens, requests);
    }

    /// <summary>Grants a slice and, when the state changed, persists it (<paramref name="persist"/>) before answering: a
    /// lease a node holds must survive a move. If the write fails the node gets the error; the grain reloads.</summary>
    /// <remarks>A storage outage must not become a routing outage: when the write fails for any reason but a conflict
    /// (<paramref name="persist"/> must deactivate on a conflict and keep the activation otherwise, see
    /// <c>WriteOrKeepAsync</c>), the grant is still answered if the grants made since the last successful write stay
    /// within the outage share of the limit; the desk is then <see cref="Unwritten"/> and the next successful write
    /// stores everything. A grant beyond the share is undone (its units go back) and the error reaches the node.</remarks>
    public async Task<QuotaLease?> GrantAsync(LeaseRequest request, Func<Task> persist)
    {
        ArgumentNullException.ThrowIfNull(persist);
        if (Unwritten && !_replies.TryRepeat(request, out _))
        {
            // Storage may be back: store what is held first, so this grant is sized as usual rather than from the share.
            await TryWriteAsync(persist);
        }

        var lease = Grant(request, out var changed);
        if (!changed)
        {
            return lease;
        }

        try
        {
            await persist();
            Written();
        }
        catch (Exception error) when (error is not InconsistentStateException)
        {
            Unwritten = true;
            if (lease is { } granted)
            {
                if (!FitsOutageShare(granted))
                {
                    // Not answered: give the units back and forget the grant, so a retry gets a fresh one.
                    _ledger!.Settle(new LeaseSettlement(granted.Id, granted.Tokens, granted.Requests, 0));
                    _replies.Forget(request.NodeId);
                    throw;
                }

                _unwrittenTokens += _ledger!.Quota.Tokens is null ? 0 : granted.Tokens;
                _unwrittenRequests += _ledger.Quota.Requests is null ? 0 : granted.Requests;
            }
        }

        return lease;
    }

    /// <summary>Settles a lease and persists the state when it changed. A write that fails but for a conflict keeps the
    /// settlement in memory (<see cref="Unwritten"/>): units returned early are safe to hold until the next write.</summary>
    public async Task SettleAsync(string nodeId, LeaseSettlement settlement, Func<Task> persist)
    {
        ArgumentNullException.ThrowIfNull(persist);
        if (Settle(nodeId, settlement))
        {
            await TryWriteAsync(persist);
        }
    }

    /// <summary>Writes the desk's state (<paramref name="persist"/>) when it is <see cref="Unwritten"/> or expiry
    /// forfeited a lease; a failure but a conflict leaves it <see cref="Unwritten"/> for the next attempt.</summary>
    public async Task WriteDueAsync(Func<Task> persist)
    {
        ArgumentNullException.ThrowIfNull(persist);
        if (ExpireDue() || Unwritten)
        {
            await TryWriteAsync(persist);
        }
    }

    private async Task TryWriteAsync(Func<Task> persist)
    {
        try
        {
            await persist();
            Written();
        }
        catch (Exception error) when (error is not InconsistentStateException)
        {
            Unwritten = true;
        }
    }

    /// <summary>Tells the desk that a write of its grain's state, carrying <see cref="Export"/> as of now, succeeded:
    /// nothing it granted is unwritten any more.</summary>
    public void MarkWritten() => Written();

    private void Written()
    {
        Unwritten = false;
        _unwrittenTokens = 0;
        _unwrittenRequests = 0;
    }

    private bool FitsOutageShare(in QuotaLease lease) =>
        (_ledger!.Quota.Tokens is null || _unwrittenTokens + lease.Tokens <= _outageTokens)
        && (_ledger.Quota.Requests is null || _unwrittenRequests + lease.Requests <= _outageRequests);

    /// <summary>Forfeits leases past their expiry; true when any was.</summary>
    public bool ExpireDue() => (_ledger?.ExpireDue() > 0) | SweepRegions();

    /// <summary>The state to persist.</summary>
    public QuotaDeskState Export() => new()
    {
        Ledger = _ledger?.Export(),
        LastGrants = _replies.ExportGrants(),
        LastSettled = _replies.ExportSettled(),
        RegionBook = ExportRegionBook(),
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
