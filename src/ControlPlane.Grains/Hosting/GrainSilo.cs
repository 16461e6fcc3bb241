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
    public Task StartAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        _runtime.Start();
        return Task.CompletedTask;
    }

    /// <summary>Graceful shutdown: refuses calls from outside grains (<see cref="GrainSiloStoppingException"/>), lets
    /// every activation finish its queued turns, runs OnDeactivateAsync everywhere, then returns.</summary>
    public Task StopAsync(CancellationToken cancellationToken = default) => _runtime.StopAsync(cancellationToken);

    /// <summary>Stops (if running) and disposes the services the silo owns, flushing and closing storage.</summary>
    public async ValueTask DisposeAsync()
    {
        await _runtime.DisposeAsync();
        if (_ownedServices is not null)
        {
            await _ownedServices.DisposeAsync();
        }
    }
}
