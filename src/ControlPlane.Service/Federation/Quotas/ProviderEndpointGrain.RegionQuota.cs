using ControlPlane.Domain.Quotas;
using ControlPlane.Service.Federation;
using ControlPlane.Service.Federation.Quotas;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ControlPlane.Service.Grains;

/// <summary>Global quotas (<c>docs/regions.md</c>, "Global quotas"). With federation on and a limited endpoint: in its
/// home region the grain grants region leases out of its own ledger (<see cref="IRegionQuotaGrain"/>); in any other
/// region it carves its nodes' leases out of the region leases its home granted (<see cref="RegionQuotaFollower"/>).</summary>
internal sealed partial class ProviderEndpointGrain : IRegionQuotaGrain
{
    private RegionQuotaFollower? _follower;
    private IRegionLeaseClient? _regionClient;
    private RegionQuotaMetrics? _regionMetrics;
    private string? _ownRegion;

    public async Task<RegionLease?> GrantRegionLeaseAsync(RegionLeaseAsk ask)
    {
        ArgumentNullException.ThrowIfNull(ask);
        if (_quota.RegionBook is null)
        {
            if (_quota.Limits.TokensPerPeriod <= 0 && _quota.Limits.RequestsPerPeriod <= 0)
            {
                return null;
            }

            throw new InvalidOperationException($"Endpoint '{_descriptor.Id}' is not homed in this region.");
        }

        var lease = await _quota.GrantRegionAsync(ask.Region, ask.RequestId, ask.Tokens, ask.Requests, ask.HeldLeaseId, PersistQuotaAsync);
        PublishRegionMetrics();
        return lease;
    }

    public async Task<bool> SettleRegionLeaseAsync(string region, RegionLeaseReturn settlement)
    {
        ArgumentException.ThrowIfNullOrEmpty(region);
        bool returned = await _quota.SettleRegionAsync(region, settlement, PersistQuotaAsync);
        PublishRegionMetrics();
        return returned;
    }

    // Called once the desk is created: attaches the home's region book, or builds the follower.
    private void StartRegionQuota()
    {
        var federation = ServiceProvider.GetService<IOptions<FederationOptions>>()?.Value;
        var fleetRegions = catalog.Fleet.Regions;
        if (federation?.Region is not { } own || !fleetRegions.IsFederated || (_quota.Limits.TokensPerPeriod <= 0 && _quota.Limits.RequestsPerPeriod <= 0))
        {
            return;
        }

        _ownRegion = own;
        var options = ServiceProvider.GetService<IOptions<RegionQuotaOptions>>()?.Value ?? new RegionQuotaOptions();
        _regionMetrics = ServiceProvider.GetService<RegionQuotaMetrics>();
        double ShareOf(string region) => fleetRegions.Find(region)?.EffectivePartitionShare(fleetRegions.All.Length) ?? PartitionShare.Default(fleetRegions.All.Length);
        if (string.Equals(_descriptor.Region, own, StringComparison.Ordinal))
        {
            _quota.AttachRegions(options.Lease, ShareOf, time);
            this.RegisterGrainTimer(_ => { _quota.ExpireDue(); PublishRegionMetrics(); return Task.CompletedTask; },
                new GrainTimerCreationOptions(options.CheckInterval, options.CheckInterval) { Interleave = false });
            return;
        }

        _regionClient = ServiceProvider.GetService<IRegionLeaseClient>();
        if (_regionClient is null || fleetRegions.Find(_descriptor.Region) is null)
        {
            return;
        }

        _follower = new RegionQuotaFollower(_descriptor.Id, _descriptor.Region, own, _quota.Limits, ShareOf(own), _options.Lease, options, time, logger);
        this.RegisterGrainTimer(async _ =>
        {
            await _follower.CheckAsync(_regionClient);
            PublishRegionMetrics();
        }, new GrainTimerCreationOptions(TimeSpan.Zero, options.CheckInterval) { Interleave = true });
    }

    // A follower's node leases come from the region leases; everywhere else from the desk.
    private async Task<QuotaLease?> GrantFollowerLeaseAsync(LeaseRequest request)
    {
        var lease = await _follower!.GrantAsync(request, _regionClient!);
        PublishRegionMetrics();
        return lease;
    }

    private void PublishRegionMetrics()
    {
        if (_regionMetrics is null)
        {
            return;
        }

        if (_follower is { } follower)
        {
            var (tokens, requests) = follower.Pool.Live;
            _regionMetrics.Set(follower.HomeRegion, _descriptor.Id, tokens, requests, follower.Pool.Partitioned);
            return;
        }

        if (_quota.RegionBook is { } book)
        {
            var partitioned = book.PartitionedRegions.ToHashSet(StringComparer.Ordinal);
            foreach (var region in book.Regions)
            {
                var (tokens, requests) = book.Outstanding(region);
                _regionMetrics.Set(region, _descriptor.Id, tokens, requests, partitioned.Contains(region));
            }
        }
    }
}
