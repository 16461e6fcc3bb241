using Microsoft.Extensions.Logging;

namespace ControlPlane.Service.Alerting.Delivery;

/// <summary>The <see cref="IAlertNotifier"/> of the product: routes a notice by workload class to its teams
/// (<see cref="AlertRouting.TeamsFor"/>) and hands it to each team's durable outbox grain, which persists it before
/// answering. Returns once every team's outbox has it; delivery happens after, never on the caller's path. Pending
/// notices are not delivered; a team without a <c>teams:</c> entry or receivers gets nothing.</summary>
internal sealed partial class AlertNotifier(IGrainFactory grains, FleetCatalog catalog, ILogger<AlertNotifier> logger) : IAlertNotifier
{
    public async Task PublishAsync(AlertNotice notice, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(notice);
        if (notice.State == AlertState.Pending)
        {
            return;
        }

        var fleet = catalog.Current;
        var calls = new List<Task<int>>(2);
        foreach (string team in AlertRouting.TeamsFor(notice, fleet))
        {
            if (fleet.Fleet.Alerting.TryGetTeam(team, out var entry) && entry.Receivers.Length > 0)
            {
                calls.Add(grains.GetGrain<IAlertOutboxGrain>(team).EnqueueAsync(notice));
            }
            else
            {
                LogNoReceivers(logger, notice.Key, team);
            }
        }

        await Task.WhenAll(calls).WaitAsync(cancellationToken);
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Alert {Key}: team {Team} has no receivers in the fleet file; not delivered to it")]
    private static partial void LogNoReceivers(ILogger logger, string key, string team);
}
