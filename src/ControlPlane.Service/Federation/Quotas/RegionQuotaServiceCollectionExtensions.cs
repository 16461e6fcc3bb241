using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace ControlPlane.Service.Federation.Quotas;

/// <summary>Registers global quotas across regions (<c>docs/regions.md</c>, "Global quotas").</summary>
public static class RegionQuotaServiceCollectionExtensions
{
    /// <summary>Adds <see cref="RegionQuotaOptions"/> (validated at start), the gRPC region lease client and the gauges.
    /// With federation off nothing of it runs.</summary>
    public static IServiceCollection AddFederationQuotas(this IServiceCollection services, Action<RegionQuotaOptions>? configure = null)
    {
        services.AddOptions<RegionQuotaOptions>().Configure(o => configure?.Invoke(o)).Validate(o =>
        {
            o.Validate();
            return true;
        }).ValidateOnStart();
        services.TryAddSingleton<IRegionLeaseClient, GrpcRegionLeaseClient>();
        services.TryAddSingleton<RegionQuotaMetrics>();
        return services;
    }
}
