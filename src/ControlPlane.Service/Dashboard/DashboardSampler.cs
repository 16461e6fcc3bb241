using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ControlPlane.Service.Dashboard;

/// <summary>Takes the dashboard snapshot's figures into the history ring every <see cref="DashboardOptions.SampleInterval"/>
/// on the node's <see cref="TimeProvider"/> (a failed sample, e.g. while the silo starts, is skipped and logged).</summary>
internal sealed partial class DashboardSampler(DashboardSnapshots snapshots, DashboardHistoryRing ring, IOptions<DashboardOptions> options,
    TimeProvider time, ILogger<DashboardSampler> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.SampleInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                await SampleAsync(stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    /// <summary>Takes one sample now.</summary>
    internal async Task SampleAsync(CancellationToken cancellationToken)
    {
        try
        {
            ring.Record(await snapshots.GetAsync(cancellationToken).ConfigureAwait(false));
        }
        catch (Exception error) when (error is not OperationCanceledException and not OutOfMemoryException)
        {
            LogSampleFailed(logger, error);
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Dashboard sample skipped.")]
    private static partial void LogSampleFailed(ILogger logger, Exception error);
}
