using ControlPlane.Fleet;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace ControlPlane.Service.Alerting.Delivery;

/// <summary>Registers alert delivery on a silo: the <see cref="IAlertNotifier"/>, the team outboxes' sender, options,
/// metric and the start-up check.</summary>
internal static class AlertDeliveryServiceCollectionExtensions
{
    public static IServiceCollection AddAlertDelivery(this IServiceCollection services)
    {
        services.AddOptions<AlertDeliveryOptions>().Validate(o =>
        {
            o.Validate();
            return true;
        }).ValidateOnStart();
        services.AddMetrics();
        AlertHttpClient.Add(services);
        services.TryAddSingleton<AlertSender>();
        services.TryAddSingleton<AlertDeliveryMetrics>();
        services.TryAddSingleton<IAlertNotifier, AlertNotifier>();
        services.AddHostedService<AlertOutboxStarter>();
        return services;
    }
}

/// <summary>At start (after the silo is up): logs, once, the teams the fleet names (endpoints' <c>owner_team</c>,
/// classes' <c>owner</c>) without a <c>teams:</c> entry and the receivers disabled by an unset variable, then activates
/// every team's outbox so deliveries queued before a restart continue.</summary>
internal sealed partial class AlertOutboxStarter(FleetCatalog catalog, IGrainFactory grains, ILogger<AlertOutboxStarter> logger) : IHostedLifecycleService
{
    private readonly CancellationTokenSource _stop = new();
    private Task? _resume;

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken)
    {
        var fleet = catalog.Fleet;
        foreach (string team in OwnersWithoutEntry(fleet))
        {
            LogTeamWithoutEntry(logger, team);
        }

        foreach (var team in fleet.Alerting.Teams)
        {
            foreach (var receiver in team.Receivers)
            {
                if (ResolvedReceiver.TryResolve(receiver, out string? problem) is null)
                {
                    LogReceiverDisabled(logger, team.Name, receiver.Name, problem ?? "");
                }
            }
        }

        _resume = Task.Run(() => ResumeAsync(fleet, _stop.Token), CancellationToken.None);
        return Task.CompletedTask;
    }

    public Task StoppingAsync(CancellationToken cancellationToken) => _stop.CancelAsync();

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_resume is not null)
        {
            await _resume.WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    public Task StoppedAsync(CancellationToken cancellationToken)
    {
        _stop.Dispose();
        return Task.CompletedTask;
    }

    /// <summary>Teams named by an endpoint or class that have no <c>teams:</c> entry, each once, in file order.</summary>
    internal static List<string> OwnersWithoutEntry(FleetDefinition fleet)
    {
        var missing = new List<string>();
        foreach (string owner in fleet.Endpoints.Select(e => e.OwnerTeam).Concat(fleet.Classes.Select(c => c.Owner)))
        {
            if (!fleet.Alerting.TryGetTeam(owner, out _) && !missing.Contains(owner, StringComparer.Ordinal))
            {
                missing.Add(owner);
            }
        }

        return missing;
    }

    private async Task ResumeAsync(FleetDefinition fleet, CancellationToken cancellationToken)
    {
        foreach (var team in fleet.Alerting.Teams)
        {
            try
            {
                await grains.GetGrain<IAlertOutboxGrain>(team.Name).ResumeAsync().WaitAsync(cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception error)
            {
                // The outbox also resumes with the next notice for its team.
                LogResumeFailed(logger, error, team.Name);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Team {Team} owns endpoints or classes but has no entry in the fleet file's teams: its alerts are not delivered")]
    private static partial void LogTeamWithoutEntry(ILogger logger, string team);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Alert receiver {Receiver} of team {Team} is disabled: {Problem}")]
    private static partial void LogReceiverDisabled(ILogger logger, string team, string receiver, string problem);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Alert outbox of team {Team} could not be resumed at start")]
    private static partial void LogResumeFailed(ILogger logger, Exception error, string team);
}
