using ControlPlane.Fleet;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ControlPlane.Service.FleetReload;

/// <summary>Keeps this process's <see cref="FleetCatalog"/> on the cluster's fleet generation: subscribes to the fleet
/// generation grain (pushes arrive at once), renews at a third of the subscription expiry (the renewal's answer is
/// also a poll, bounding how long a missed push goes unnoticed), and at start applies the rule that a restart never
/// undoes a reload: the stored generation wins over this process's file, and a file that differs from it is logged,
/// never applied silently (a reload applies it).</summary>
internal sealed partial class FleetWatcher(FleetCatalog catalog, IGrainFactory grains, IOptions<ControlPlaneOptions> options, TimeProvider time,
    ILogger<FleetWatcher> logger) : IFleetObserver, IHostedLifecycleService, IDisposable
{
    private static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(1);
    private readonly CancellationTokenSource _stop = new();
    private IFleetObserver? _self;
    private Task? _loop;
    private bool _startChecked;

    public Task OnFleetChangedAsync(FleetGeneration generation)
    {
        Adopt(generation);
        return Task.CompletedTask;
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StartedAsync(CancellationToken cancellationToken)
    {
        _self = grains.CreateObjectReference<IFleetObserver>(this);
        // The first subscription decides which generation this node runs, before the routing node subscribes.
        var subscribed = await SubscribeAsync();
        _loop = Task.Run(() => RunAsync(subscribed, _stop.Token), CancellationToken.None);
    }

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stop.CancelAsync();
        if (_loop is not null)
        {
            await _loop.WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        if (_self is not null)
        {
            grains.DeleteObjectReference<IFleetObserver>(_self);
        }
    }

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose() => _stop.Dispose();

    private async Task RunAsync(bool subscribed, CancellationToken cancellationToken)
    {
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                await Task.Delay(subscribed ? options.Value.SubscriptionExpiry / 3 : RetryDelay, time, cancellationToken);
                subscribed = await SubscribeAsync();
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    private async Task<bool> SubscribeAsync()
    {
        FleetGeneration? stored;
        try
        {
            stored = await grains.GetGrain<IFleetGenerationGrain>(FleetGenerationGrain.Key).SubscribeAsync(_self!);
        }
        catch (Exception error) when (error is not (OutOfMemoryException or OperationCanceledException))
        {
            LogSubscribeFailed(logger, error);
            return false;
        }

        if (!_startChecked)
        {
            _startChecked = true;
            CheckStartFile(stored);
        }
        else if (stored is not null)
        {
            Adopt(stored);
        }

        return true;
    }

    // The rule at start: no stored generation (never reloaded): every node runs its own file. A stored one: this node
    // runs it; if this node's file differs, that is logged (an older file is superseded; a newer one needs a reload).
    private void CheckStartFile(FleetGeneration? stored)
    {
        if (stored is null)
        {
            return;
        }

        FleetDefinition fleet;
        try
        {
            fleet = FleetGenerations.Parse(stored);
        }
        catch (FleetConfigException error)
        {
            LogUnreadable(logger, stored.Number, error);
            return;
        }

        var diff = FleetDiff.Compare(catalog.StartFleet, fleet);
        var adoption = catalog.TryAdopt(fleet, stored.Number);
        if (adoption == FleetAdoption.Incompatible)
        {
            LogIncompatible(logger, catalog.StartFleet.SourceName, stored.Number, stored.Source);
        }
        else if (diff.Changes.Count > 0 || diff.Refusals.Count > 0)
        {
            LogStartFileDiffers(logger, catalog.StartFleet.SourceName, stored.Number, stored.Source, diff.Changes.Count + diff.Refusals.Count);
        }
        else
        {
            LogStartFileMatches(logger, catalog.StartFleet.SourceName, stored.Number);
        }
    }

    private void Adopt(FleetGeneration generation)
    {
        try
        {
            switch (catalog.Adopt(generation))
            {
                case FleetAdoption.Adopted:
                    LogAdopted(logger, generation.Number, generation.Source);
                    break;
                case FleetAdoption.Incompatible:
                    LogIncompatible(logger, catalog.StartFleet.SourceName, generation.Number, generation.Source);
                    break;
            }
        }
        catch (FleetConfigException error)
        {
            LogUnreadable(logger, generation.Number, error);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "This node runs fleet generation {Generation} (from {Source}).")]
    private static partial void LogAdopted(ILogger logger, long generation, string source);

    [LoggerMessage(Level = LogLevel.Information, Message = "Fleet file {File} matches the cluster's fleet generation {Generation}.")]
    private static partial void LogStartFileMatches(ILogger logger, string file, long generation);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Fleet file {File} differs from the cluster's fleet generation {Generation} (reloaded from {Source}; {Differences} differences): this node runs generation {Generation}, a restart never undoes a reload. If the file is the newer one, apply it with POST /admin/v1/fleet/reload or SIGHUP; it is not applied at start.")]
    private static partial void LogStartFileDiffers(ILogger logger, string file, long generation, string source, int differences);

    [LoggerMessage(Level = LogLevel.Error, Message = "Fleet file {File} lists other endpoints or classes than the cluster's fleet generation {Generation} (from {Source}): this node keeps its own file; restart it with the cluster's fleet file.")]
    private static partial void LogIncompatible(ILogger logger, string file, long generation, string source);

    [LoggerMessage(Level = LogLevel.Error, Message = "Fleet generation {Generation} cannot be read by this build's loader: not adopted.")]
    private static partial void LogUnreadable(ILogger logger, long generation, Exception error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Subscribing to the fleet generation failed; retried in a second.")]
    private static partial void LogSubscribeFailed(ILogger logger, Exception error);
}
