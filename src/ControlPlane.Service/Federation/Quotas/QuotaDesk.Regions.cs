using ControlPlane.Domain.Quotas;
using Orleans.Storage;

namespace ControlPlane.Service.Grains;

/// <summary>The region book of a home endpoint's desk (global quotas, <c>docs/regions.md</c>).</summary>
public sealed partial class QuotaDeskState
{
    /// <summary>The region leases' bookkeeping (their units live in <see cref="Ledger"/>): retries, proofs, partition
    /// reserves. Null when the endpoint never granted a region lease.</summary>
    public RegionLeaseBookSnapshot? RegionBook { get; set; }
}

/// <summary>The home side of global quotas: region leases granted to other regions out of the same ledger the home's own
/// nodes lease from (<see cref="RegionLeaseLedger"/>).</summary>
internal sealed partial class QuotaDesk
{
    private RegionLeaseLedger? _regions;
    private RegionLeaseBookSnapshot? _savedRegionBook;
    private TimeSpan _regionLeaseDuration;

    /// <summary>The region book, when attached (<see cref="AttachRegions"/>).</summary>
    public RegionLeaseLedger? RegionBook => _regions;

    /// <summary>Makes this desk the home of region leases: restores the saved region book (a partition reserve carries on
    /// charging after a move) and grants region leases from now on. Nothing for an unlimited endpoint.</summary>
    public void AttachRegions(RegionLeaseOptions options, Func<string, double> shareOf, TimeProvider time)
    {
        if (_ledger is null || _regions is not null)
        {
            return;
        }

        var book = new RegionLeaseLedger(_ledger, options, shareOf, time);
        if (_savedRegionBook is { } saved)
        {
            book.Restore(saved);
        }

        _regions = book;
        _regionLeaseDuration = options.Duration;
        _savedRegionBook = null;
    }

    /// <summary>Grants a region lease and persists it before answering (<paramref name="persist"/>); null when the
    /// endpoint is unlimited or the desk is not a home. A write that fails is not answered: the lease stays held until it
    /// expires (conservative), and the desk is <see cref="Unwritten"/> until the next write.</summary>
    public async Task<RegionLease?> GrantRegionAsync(string region, string requestId, long tokens, long requests, long heldLeaseId, Func<Task> persist)
    {
        ArgumentNullException.ThrowIfNull(persist);
        if (_regions is null)
        {
            return null;
        }

        // Sized like a node's ask: a contended bucket is split between the home's nodes and the regions by stated demand
        // (a region states its ask per lease; its rate is that ask per lease duration).
        var now = _time.GetUtcNow();
        _ledger!.ExpireDue();
        SweepRegions();
        var quota = _ledger.Quota;
        var sizing = new LeaseRequest(RegionLeaseLedger.HolderOf(region), requestId, tokens, requests, PerMinute(tokens), PerMinute(requests));
        var (sizedTokens, sizedRequests) = _demand.Size(sizing, quota.Tokens is null ? long.MaxValue : quota.AvailableTokens,
            quota.Requests is null ? long.MaxValue : quota.AvailableRequests, now);
        var lease = _regions.Grant(region, requestId, sizedTokens, sizedRequests, heldLeaseId);
        _demand.Record(sizing, lease.Tokens, lease.Requests, now);
        try
        {
            await persist();
            Written();
        }
        catch (Exception error) when (error is not InconsistentStateException)
        {
            Unwritten = true;
            throw;
        }

        return lease;
    }

    /// <summary>Settles a region lease and persists the change; true when units came back.</summary>
    public async Task<bool> SettleRegionAsync(string region, RegionLeaseReturn settlement, Func<Task> persist)
    {
        ArgumentNullException.ThrowIfNull(settlement);
        ArgumentNullException.ThrowIfNull(persist);
        if (_regions is null)
        {
            return false;
        }

        bool returned = _regions.Settle(region, settlement.LeaseId, settlement.UnusedTokens, settlement.UnusedRequests, settlement.CarriedTokens);
        await TryWriteAsync(persist);
        return returned;
    }

    private long PerMinute(long perLease) =>
        _regionLeaseDuration <= TimeSpan.Zero ? perLease : (long)Math.Min(long.MaxValue / 2.0, perLease * (TimeSpan.FromMinutes(1) / _regionLeaseDuration));

    private bool SweepRegions() => _regions?.Sweep() ?? false;

    private RegionLeaseBookSnapshot? ExportRegionBook() => _regions?.Export() ?? _savedRegionBook;
}
