using ControlPlane.Fleet;
using ControlPlane.Service.Grains;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace ControlPlane.Service.Catalog;

/// <summary>The clock behind deprecation notices, on every node: at start it logs every endpoint within 90 days of its
/// deprecation date (Warning, with owner team and on-call), then asks the fleet grain to raise the notices due, at start,
/// every <see cref="CheckInterval"/> and just after every 00:00 UTC (when stages change). The grain raises each stage once cluster-wide, however many nodes ask.</summary>
internal sealed partial class DeprecationWatcher(FleetCatalog catalog, IGrainFactory grains, TimeProvider time, ILogger<DeprecationWatcher> logger)
    : IHostedLifecycleService, IAsyncDisposable
{
    /// <summary>How often the notices are checked (a stage is a calendar day; an hour is prompt enough).</summary>
    internal static readonly TimeSpan CheckInterval = TimeSpan.FromHours(1);

    /// <summary>How soon a failed check (grain unreachable) is retried.</summary>
    internal static readonly TimeSpan RetryInterval = TimeSpan.FromMinutes(1);

    /// <summary>How long after 00:00 UTC the daily check runs.</summary>
    internal static readonly TimeSpan MidnightMargin = TimeSpan.FromSeconds(1);

    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;

    /// <summary>The endpoints within <see cref="DeprecationStage.NoticeDays"/> of their deprecation date (or past it) on
    /// <paramref name="today"/>, in fleet order, with their days left.</summary>
    public static IReadOnlyList<(EndpointCatalogEntry Endpoint, int DaysLeft)> Due(FleetDefinition fleet, DateOnly today) =>
        [.. fleet.Endpoints
            .Where(e => e.Deprecation is not null)
            .Select(e => (Endpoint: e, DaysLeft: DeprecationStage.DaysLeft(e.Deprecation!, today)))
            .Where(e => e.DaysLeft <= DeprecationStage.NoticeDays)];

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken)
    {
        foreach (var (endpoint, daysLeft) in Due(catalog.Fleet, DeprecationStage.Today(time)))
        {
            var deprecation = endpoint.Deprecation!;
            LogDueAtStart(logger, endpoint.Id, deprecation.Date.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture), daysLeft,
                deprecation.MigrateTo ?? "(none chosen)", endpoint.OwnerTeam, endpoint.OnCall);
        }

        _loop = Task.Run(() => RunAsync(_stop.Token), CancellationToken.None);
        return Task.CompletedTask;
    }

    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        await _stop.CancelAsync();
        if (_loop is not null)
        {
            await _loop.WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public ValueTask DisposeAsync()
    {
        _stop.Dispose();
        return ValueTask.CompletedTask;
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        if (!catalog.Fleet.Endpoints.Any(e => e.Deprecation is not null))
        {
            return;
        }

        while (!cancellationToken.IsCancellationRequested)
        {
            var wait = CheckInterval;
            try
            {
                await grains.GetGrain<IFleetGrain>(FleetGrain.Key).RaiseDueNoticesAsync();
            }
            catch (Exception error) when (error is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                LogCheckFailed(logger, error);
                wait = RetryInterval;
            }

            // Stages change at 00:00 UTC: the check right after midnight raises a new stage promptly.
            var now = time.GetUtcNow();
            var midnight = new DateTimeOffset(now.UtcDateTime.Date.AddDays(1), TimeSpan.Zero) + MidnightMargin - now;
            if (midnight < wait)
            {
                wait = midnight;
            }

            try
            {
                await Task.Delay(wait, time, cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Endpoint {Endpoint} is deprecated on {Date} ({DaysLeft} days left); migrate to {MigrateTo}; owner {OwnerTeam}, on-call {OnCall}.")]
    private static partial void LogDueAtStart(ILogger logger, string endpoint, string date, int daysLeft, string migrateTo, string ownerTeam, string onCall);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Deprecation notice check failed; retried in a minute.")]
    private static partial void LogCheckFailed(ILogger logger, Exception error);
}
