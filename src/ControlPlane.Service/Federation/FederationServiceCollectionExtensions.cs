using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace ControlPlane.Service.Federation;

/// <summary>Registers federation (<c>docs/regions.md</c>): its options, the peer channels and the region quota seam.
/// Registered on every node; with <see cref="FederationOptions.Region"/> null nothing of it runs.</summary>
public static class FederationServiceCollectionExtensions
{
    /// <summary>Adds <see cref="FederationOptions"/> (validated at start), <see cref="FederationChannels"/> and the default
    /// <see cref="IRegionQuotaSource"/>.</summary>
    public static IServiceCollection AddControlPlaneFederation(this IServiceCollection services, Action<FederationOptions>? configure = null)
    {
        services.AddOptions<FederationOptions>().Configure(o => configure?.Invoke(o)).Validate(o =>
        {
            o.Validate();
            return true;
        }).ValidateOnStart();
        services.TryAddSingleton<FederationChannels>();
        services.TryAddSingleton<IRegionQuotaSource, LocalRegionQuotaSource>();
        services.TryAddSingleton<FederationMetrics>();
        // The feed's serving side and the per-peer readers do nothing with federation off.
        services.TryAddSingleton<FederationFeedSource>();
        services.AddHostedService(sp => sp.GetRequiredService<FederationFeedSource>());
        services.TryAddSingleton<FederationLinkReader>();
        services.AddHostedService(sp => sp.GetRequiredService<FederationLinkReader>());
        services.TryAddSingleton<FederationOutcomeForwarder>();
        services.AddHostedService(sp => sp.GetRequiredService<FederationOutcomeForwarder>());
        services.TryAddSingleton<FederationService>();
        return services;
    }
}
