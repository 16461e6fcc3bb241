using ControlPlane.Service.Catalog;
using Microsoft.Extensions.Logging;

namespace ControlPlane.Service.Grains;

// Deprecation notices on a clock: every node's DeprecationWatcher asks the fleet grain (hourly and at start) to raise
// what is due; the grain raises each stage once per endpoint and date, cluster-wide, and persists it first.
internal sealed partial class FleetGrain
{
    public async Task<IReadOnlyList<DeprecationNotice>> RaiseDueNoticesAsync()
    {
        var now = time.GetUtcNow();
        var today = DeprecationStage.Today(time);
        var raised = new List<DeprecationNotice>();
        foreach (var endpoint in catalog.Fleet.Endpoints)
        {
            if (endpoint.Deprecation is not { } deprecation)
            {
                continue;
            }

            var daysLeft = DeprecationStage.DaysLeft(deprecation, today);
            var stage = DeprecationStage.Of(daysLeft);
            if (stage is null)
            {
                continue;
            }

            // A new date (the fleet file moved it) starts the stages afresh; a stage already raised is not repeated, and a
            // stage skipped (the cluster was down through it) is not raised late: only the current one is.
            if (state.State.Notices.TryGetValue(endpoint.Id, out var last) && last.Date == deprecation.Date
                && DeprecationStage.Rank(last.Stage) >= DeprecationStage.Rank(stage))
            {
                continue;
            }

            raised.Add(new DeprecationNotice(endpoint.Id, deprecation.Date, stage, daysLeft, deprecation.MigrateTo, endpoint.OwnerTeam, endpoint.OnCall, now));
        }

        if (raised.Count == 0)
        {
            return raised;
        }

        foreach (var notice in raised)
        {
            state.State.Notices[notice.EndpointId] = notice;
        }

        // Persisted before anyone is told: a notice logged but not stored would be logged again after a restart.
        await state.WriteOrReloadAsync(this);
        foreach (var notice in raised)
        {
            LogNotice(logger, notice.Stage, notice.EndpointId, notice.Date.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture),
                notice.DaysLeft, notice.MigrateTo ?? "(none chosen)", notice.OwnerTeam, notice.OnCall);
        }

        return raised;
    }

    public Task<IReadOnlyList<DeprecationNotice>> GetRaisedNoticesAsync() =>
        Task.FromResult<IReadOnlyList<DeprecationNotice>>([.. catalog.Fleet.Endpoints
            .Where(e => state.State.Notices.ContainsKey(e.Id))
            .Select(e => state.State.Notices[e.Id])]);

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Deprecation notice {Stage} for endpoint {Endpoint}: its pinned version is retired on {Date} ({DaysLeft} days left); migrate to {MigrateTo}; routed to owner {OwnerTeam}, on-call {OnCall}.")]
    private static partial void LogNotice(ILogger logger, string stage, string endpoint, string date, int daysLeft, string migrateTo, string ownerTeam, string onCall);
}
