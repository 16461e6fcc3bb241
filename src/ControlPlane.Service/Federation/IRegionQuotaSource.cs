using ControlPlane.Domain.Endpoints;
using ControlPlane.Domain.Quotas;

namespace ControlPlane.Service.Federation;

/// <summary>
/// Where an endpoint grain's quota limits come from in this region: the seam the global-quota part fills with region
/// leases granted by the endpoint's home region. The default (<see cref="LocalRegionQuotaSource"/>) is the endpoint's
/// own TPM/RPM limit from the fleet file, as in a single region.
/// </summary>
public interface IRegionQuotaSource
{
    /// <summary>The per-minute limits this region's grain for <paramref name="endpoint"/> carves node leases from.</summary>
    QuotaLimits LimitsFor(EndpointDescriptor endpoint);
}

/// <summary>The endpoint's own limits from the fleet file (single region, or federation without global quotas).</summary>
internal sealed class LocalRegionQuotaSource : IRegionQuotaSource
{
    public QuotaLimits LimitsFor(EndpointDescriptor endpoint)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        return QuotaLimits.PerMinute(endpoint.TokensPerMinute, endpoint.RequestsPerMinute);
    }
}
