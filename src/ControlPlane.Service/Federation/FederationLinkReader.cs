using ControlPlane.Contracts.V1;
using ControlPlane.Service.Grains;
using Grpc.Core;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;

namespace ControlPlane.Service.Federation;

/// <summary>
/// The reading side of the change feed: for each peer region, the node elected by that peer's
/// <see cref="IFederationLinkGrain"/> reads its feed (one reader per peer per cluster) and hands every endpoint state to
/// the endpoint's follower grain, which adopts it when newer. A reader resumes from what the follower grains hold
/// (their adopted home versions; none after a storage reset, so everything is sent again), reconnects with Polly's
/// exponential backoff and jitter, and drops a link that is silent for <see cref="FederationOptions.LinkTimeout"/>.
/// </summary>
internal sealed partial class FederationLinkReader(
    IGrainFactory grains, FleetCatalog catalog, FederationChannels channels, FederationMetrics metrics, IOptions<FederationOptions> federation,
    IOptions<ControlPlaneOptions> options, TimeProvider time, ILogger<FederationLinkReader> logger) : IHostedService, IDisposable
{
    private static readonly TimeSpan ClaimPeriod = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan ClaimLease = TimeSpan.FromSeconds(5);

    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _loops = [];
    private FederationOptions Options => federation.Value;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (!Options.Enabled)
        {
            return Task.CompletedTask;
        }

        foreach (var peer in Options.Peers.Keys)
        {
            _loops.Add(Task.Run(() => LeadLoopAsync(peer, _stop.Token), CancellationToken.None));
        }

        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_loops).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    public void Dispose() => _stop.Dispose();

    private async Task<bool> ClaimAsync(string peer)
    {
        try
        {
            return await grains.GetGrain<IFederationLinkGrain>(peer).ClaimAsync(options.Value.NodeId, ClaimLease);
        }
        catch (Exception error) when (error is not OperationCanceledException && error is not OutOfMemoryException)
        {
            LogClaimFailed(logger, peer, error);
            return false;
        }
    }

    // Claims the peer's link every second; while this node holds it, reads the feed.
    private async Task LeadLoopAsync(string peer, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                if (!await ClaimAsync(peer))
                {
                    metrics.Forget(peer);
                    await Task.Delay(ClaimPeriod, time, stop);
                    continue;
                }

                using var lead = CancellationTokenSource.CreateLinkedTokenSource(stop);
                var reading = ReadLoopAsync(peer, lead.Token);
                while (!reading.IsCompleted)
                {
                    await Task.WhenAny(reading, Task.Delay(ClaimPeriod, time, stop));
                    if (!reading.IsCompleted && !stop.IsCancellationRequested && !await ClaimAsync(peer))
                    {
                        await lead.CancelAsync();
                    }
                }

                await reading.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                metrics.Forget(peer);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
        }
    }

    private async Task ReadLoopAsync(string peer, CancellationToken cancellationToken)
    {
        var o = Options;
        // A new pipeline per run of failures: backoff grows while the link stays down and starts small again after
        // the link was up.
        while (!cancellationToken.IsCancellationRequested)
        {
            var pipeline = new ResiliencePipelineBuilder { TimeProvider = time }.AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = int.MaxValue,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = o.ReconnectMinDelay,
                MaxDelay = o.ReconnectMaxDelay,
                ShouldHandle = new PredicateBuilder().Handle<Exception>(e => e is not OperationCanceledException || !cancellationToken.IsCancellationRequested),
                OnRetry = args =>
                {
                    metrics.LinkUp(peer, false);
                    LogLinkDown(logger, peer, args.AttemptNumber, args.Outcome.Exception?.Message ?? "ended");
                    return default;
                },
            }).Build();
            try
            {
                await pipeline.ExecuteAsync(async token => await ReadOnceAsync(peer, token), cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }

            metrics.LinkUp(peer, false);
            await Task.Delay(o.ReconnectMinDelay, time, cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    // One connection: returns when a link that was up ends (the caller reconnects at once); throws when it never came up.
    private async Task ReadOnceAsync(string peer, CancellationToken cancellationToken)
    {
        var request = new WatchChangesRequest { Region = Options.Region! };
        foreach (var entry in catalog.Endpoints.Values)
        {
            if (entry.Descriptor.Region == peer)
            {
                long held = await grains.GetGrain<IProviderEndpointGrain>(entry.Id).GetFollowedVersionAsync().WaitAsync(cancellationToken);
                if (held > 0)
                {
                    request.Known.Add(new FederationItemVersion { Kind = FederationItemKind.Endpoint, Id = entry.Id, Version = held });
                }
            }
        }

        if (peer == Options.PolicyHome)
        {
            foreach (var name in catalog.Classes.Keys)
            {
                long held = await grains.GetGrain<IClassFederationGrain>(name).GetFollowedClassVersionAsync().WaitAsync(cancellationToken);
                if (held > 0)
                {
                    request.Known.Add(new FederationItemVersion { Kind = FederationItemKind.Class, Id = name, Version = held });
                }
            }
        }

        var client = new Contracts.V1.Federation.FederationClient(channels.For(peer));
        using var idle = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        idle.CancelAfter(Options.LinkTimeout);
        bool up = false;
        try
        {
            using var call = client.WatchChanges(request, cancellationToken: idle.Token);
            while (await call.ResponseStream.MoveNext(idle.Token))
            {
                idle.CancelAfter(Options.LinkTimeout);
                if (!up)
                {
                    up = true;
                    metrics.LinkUp(peer, true);
                    LogLinkUp(logger, peer, request.Known.Count);
                }

                if (call.ResponseStream.Current.Endpoint is { } state)
                {
                    await AdoptAsync(peer, state, cancellationToken);
                }
                else if (call.ResponseStream.Current.ClassState is { } classState)
                {
                    await AdoptClassAsync(peer, classState, cancellationToken);
                }
            }
        }
        catch (RpcException) when (up && !cancellationToken.IsCancellationRequested)
        {
            // A link that was up and dropped (or went silent): reconnect at once, resuming from what is held.
        }
        catch (OperationCanceledException) when (up && !cancellationToken.IsCancellationRequested)
        {
        }

        if (!up && !cancellationToken.IsCancellationRequested)
        {
            throw new RpcException(new Status(StatusCode.Unavailable, $"the feed from '{peer}' ended before any message"));
        }
    }

    private async Task AdoptAsync(string peer, FederatedEndpointState state, CancellationToken cancellationToken)
    {
        // Only the peer's own endpoints: a region is authoritative for what is homed there and nothing else.
        if (!catalog.Endpoints.TryGetValue(state.EndpointId, out var entry) || entry.Descriptor.Region != peer)
        {
            LogIgnored(logger, peer, state.EndpointId.Length > 64 ? state.EndpointId[..64] : state.EndpointId);
            return;
        }

        if (FederatedStates.FromWire(state, out string error) is not { } followed)
        {
            LogIgnored(logger, peer, error);
            return;
        }

        if (await grains.GetGrain<IProviderEndpointGrain>(entry.Id).AdoptHomeStateAsync(followed).WaitAsync(cancellationToken))
        {
            metrics.Adopted(peer, (time.GetUtcNow().ToUnixTimeMilliseconds() - state.PublishedUnixMs) / 1000.0);
        }
    }

    private async Task AdoptClassAsync(string peer, FederatedClassState state, CancellationToken cancellationToken)
    {
        // Only from the policy home: it alone is authoritative for class policy.
        if (peer != Options.PolicyHome || !catalog.Classes.ContainsKey(state.ClassName))
        {
            LogIgnored(logger, peer, state.ClassName.Length > 64 ? state.ClassName[..64] : state.ClassName);
            return;
        }

        if (FederatedClasses.FromWire(state, catalog, out string error) is not { } followed)
        {
            LogIgnored(logger, peer, error);
            return;
        }

        if (await grains.GetGrain<IClassFederationGrain>(state.ClassName).AdoptHomeClassAsync(followed).WaitAsync(cancellationToken))
        {
            metrics.Adopted(peer, Math.Max(0, time.GetUtcNow().ToUnixTimeMilliseconds() - (state.Version / 1000)) / 1000.0);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Federation: link to region {Peer} is up (resumed with {Known} known items).")]
    private static partial void LogLinkUp(ILogger logger, string peer, int known);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Federation: link to region {Peer} is down (attempt {Attempt}): {Reason}")]
    private static partial void LogLinkDown(ILogger logger, string peer, int attempt, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Federation: claiming the link to region {Peer} failed.")]
    private static partial void LogClaimFailed(ILogger logger, string peer, Exception error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Federation: ignored a change from region {Peer}: {What}")]
    private static partial void LogIgnored(ILogger logger, string peer, string what);
}
