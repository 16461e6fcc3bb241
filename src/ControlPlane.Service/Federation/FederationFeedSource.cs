using System.Collections.Concurrent;
using ControlPlane.Service.Grains;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ControlPlane.Service.Federation;

/// <summary>
/// The serving side of the change feed on one node: subscribed (as a routing observer, renewed like a routing node's)
/// to the endpoint grains homed in this region, it keeps the newest published state of each and wakes the
/// <see cref="FederationService.WatchChanges"/> streams when one changes. Runs only with federation on.
/// </summary>
internal sealed partial class FederationFeedSource(
    IGrainFactory grains, FleetCatalog catalog, IOptions<FederationOptions> federation, IOptions<ControlPlaneOptions> options,
    TimeProvider time, ILogger<FederationFeedSource> logger) : IRoutingObserver, IHostedService, IDisposable
{
    private readonly ConcurrentDictionary<string, EndpointStatus> _states = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private IRoutingObserver? _self;
    private Task? _loop;

    /// <summary>The endpoints homed in this region, by id.</summary>
    public IReadOnlyCollection<string> HomedEndpoints => [.. catalog.Endpoints.Values.Where(e => e.Descriptor.Region == federation.Value.Region).Select(e => e.Id)];

    /// <summary>The newest state of every homed endpoint this node has seen.</summary>
    public IEnumerable<EndpointStatus> Current => _states.Values;

    /// <summary>Completes at the next change (take it before reading <see cref="Current"/>, so no change is missed).</summary>
    public Task Changed => Volatile.Read(ref _changed).Task;

    public Task OnEndpointChangedAsync(EndpointStatus status)
    {
        ArgumentNullException.ThrowIfNull(status);
        var stored = _states.AddOrUpdate(status.EndpointId, status, (_, held) => status.Version > held.Version ? status : held);
        if (ReferenceEquals(stored, status))
        {
            Interlocked.Exchange(ref _changed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
        }

        return Task.CompletedTask;
    }

    public Task OnClassChangedAsync(ClassStatus status) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (!federation.Value.Enabled)
        {
            return Task.CompletedTask;
        }

        _self = grains.CreateObjectReference<IRoutingObserver>(this);
        _loop = Task.Run(() => SubscribeLoopAsync(_stop.Token), CancellationToken.None);
        StartClasses();
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stop.CancelAsync();
        if (_loop is not null)
        {
            await _loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        await StopClassesAsync();

        if (_self is not null)
        {
            grains.DeleteObjectReference<IRoutingObserver>(_self);
            _self = null;
        }
    }

    public void Dispose() => _stop.Dispose();

    // Subscribes to every homed endpoint and renews at a third of the expiry; a failed subscribe is retried soon.
    private async Task SubscribeLoopAsync(CancellationToken cancellationToken)
    {
        var renew = options.Value.SubscriptionExpiry / 3;
        var retry = TimeSpan.FromMilliseconds(500);
        while (!cancellationToken.IsCancellationRequested)
        {
            var failed = false;
            foreach (var id in HomedEndpoints)
            {
                try
                {
                    await OnEndpointChangedAsync(await grains.GetGrain<IProviderEndpointGrain>(id).SubscribeAsync(_self!).WaitAsync(cancellationToken));
                }
                catch (Exception error) when (error is not OperationCanceledException && error is not OutOfMemoryException)
                {
                    failed = true;
                    LogSubscribeFailed(logger, id, error);
                }
            }

            try
            {
                await Task.Delay(failed ? retry : renew, time, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Federation feed: subscribing to endpoint {Endpoint} failed; retrying.")]
    private static partial void LogSubscribeFailed(ILogger logger, string endpoint, Exception error);
}
