using ControlPlane.Grains.Runtime;
using ControlPlane.Grains.Transport;
using Microsoft.Extensions.DependencyInjection;

namespace ControlPlane.Grains;

/// <summary>A running grain runtime on this node: hands out grain references and shuts down gracefully.</summary>
public sealed class GrainSilo : IAsyncDisposable
{
    private readonly GrainRuntime _runtime;
    private readonly ServiceProvider? _ownedServices;

    internal GrainSilo(GrainRuntime runtime, ServiceProvider? ownedServices)
    {
        _runtime = runtime;
        _ownedServices = ownedServices;
    }

    /// <summary>Hands out grain and observer references.</summary>
    public IGrainFactory GrainFactory => _runtime;

    /// <summary>Entry point for calls arriving from other silos (used by the cluster transport).</summary>
    public IGrainCallDispatcher CallDispatcher => _runtime;

    /// <summary>The silo's options.</summary>
    public GrainRuntimeOptions Options => _runtime.Options;

    /// <summary>The number of live activations (grains and observers).</summary>
    public int ActivationCount => _runtime.Catalog.Count;

    internal GrainRuntime Runtime => _runtime;

    /// <summary>Starts taking calls and idle collection.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (_runtime.Membership is { } membership)
        {
            await membership.JoinAsync(cancellationToken);
        }

        _runtime.Start();
    }

    /// <summary>Graceful shutdown: refuses calls from outside grains (<see cref="GrainSiloStoppingException"/>), lets
    /// every activation finish its queued turns, runs OnDeactivateAsync everywhere, then returns.</summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        await _runtime.StopAsync(cancellationToken);

        // Leave only after the grains released their claims, so the view never lists a silo that still owns nothing.
        if (_runtime.Membership is { } membership)
        {
            await membership.LeaveAsync(cancellationToken);
        }
    }

    /// <summary>Stops (if running) and disposes the services the silo owns, flushing and closing storage.</summary>
    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        await _runtime.DisposeAsync();
        if (_ownedServices is not null)
        {
            await _ownedServices.DisposeAsync();
        }
    }
}
