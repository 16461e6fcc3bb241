using ControlPlane.Domain.Quotas;

namespace ControlPlane.Service.Federation.Quotas;

/// <summary>How a follower region's endpoint grain reaches the endpoint's home region for region leases.</summary>
public interface IRegionLeaseClient
{
    /// <summary>Asks <paramref name="homeRegion"/> for a region lease; null when the home answered none (unlimited).</summary>
    Task<RegionLease?> GrantAsync(string homeRegion, RegionLeaseAsk ask, CancellationToken cancellationToken);

    /// <summary>Returns a region lease to <paramref name="homeRegion"/>; true when units came back.</summary>
    Task<bool> SettleAsync(string homeRegion, string endpointId, string region, RegionLeaseReturn settlement, CancellationToken cancellationToken);
}

/// <summary>A region lease request as the follower sends it.</summary>
/// <param name="EndpointId">The endpoint.</param>
/// <param name="Region">The asking region.</param>
/// <param name="RequestId">Unique per attempt.</param>
/// <param name="Tokens">Stated token demand.</param>
/// <param name="Requests">Stated request demand.</param>
/// <param name="HeldLeaseId">The newest lease the region installed (proves it).</param>
[Immutable]
public sealed record RegionLeaseAsk(string EndpointId, string Region, string RequestId, long Tokens, long Requests, long HeldLeaseId);
