using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace ControlPlane.Service.Alerting;

/// <summary>The alerts an endpoint grain owns (every key it has had: pending, firing and resolved).</summary>
[Alias("cp.IEndpointAlertsGrain")]
public interface IEndpointAlertsGrain : IGrainWithStringKey
{
    /// <summary>Every alert record of the endpoint, as its last state change.</summary>
    [Alias("alerts"), ReadOnly]
    Task<IReadOnlyList<AlertNotice>> GetAlertsAsync();
}

/// <summary>The alerts a class grain owns (every key it has had: pending, firing and resolved).</summary>
[Alias("cp.IClassAlertsGrain")]
public interface IClassAlertsGrain : IGrainWithStringKey
{
    /// <summary>Every alert record of the class, as its last state change.</summary>
    [Alias("alerts"), ReadOnly]
    Task<IReadOnlyList<AlertNotice>> GetAlertsAsync();
}

/// <summary>Registers the silo's alerting services: the logging notifier (also the notifier unless a delivering one is
/// registered; the grains log every accepted change through it either way) and the <c>controlplane.alerts.active</c>
/// gauge.</summary>
internal static class AlertingServices
{
    /// <summary>Adds the defaults (TryAdd: a notifier registered before or after wins over the logging one).</summary>
    public static IServiceCollection AddAlerting(this IServiceCollection services)
    {
        services.TryAddSingleton<LoggingAlertNotifier>();
        services.TryAddSingleton<IAlertNotifier>(sp => sp.GetRequiredService<LoggingAlertNotifier>());
        services.TryAddSingleton<AlertGauge>();
        return services;
    }
}
