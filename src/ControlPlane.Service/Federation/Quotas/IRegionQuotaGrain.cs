using ControlPlane.Domain.Quotas;

namespace ControlPlane.Service.Federation.Quotas;

/// <summary>The home side of global quotas on an endpoint grain (the same activation as its <c>IProviderEndpointGrain</c>,
/// keyed by the endpoint id): region leases granted to other regions out of the endpoint's own ledger.</summary>
[Alias("cp.IRegionQuotaGrain")]
public interface IRegionQuotaGrain : IGrainWithStringKey
{
    /// <summary>Grants a region lease, persisted before it is answered; the same request id from the same region gets the
    /// same lease. Null when the endpoint is unlimited; <see cref="InvalidOperationException"/> when this region is not the
    /// endpoint's home.</summary>
    [Alias("region-grant"), ResponseTimeout("00:00:05")]
    Task<RegionLease?> GrantRegionLeaseAsync(RegionLeaseAsk ask);

    /// <summary>Returns a region lease's unused units and carried reconciliation; true when units came back.</summary>
    [Alias("region-settle")]
    Task<bool> SettleRegionLeaseAsync(string region, RegionLeaseReturn settlement);
}
