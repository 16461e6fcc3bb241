using System.Globalization;
using ControlPlane.Grains.Diagnostics;
using ControlPlane.Grains.Placement;
using ControlPlane.Grains.Proxies;
using ControlPlane.Grains.Storage;
using ControlPlane.Grains.Transport;
using Microsoft.Extensions.Logging;

namespace ControlPlane.Grains.Runtime;

/// <summary>The silo's core: hands out references, routes calls (local catalog or remote transport), runs idle
/// collection and graceful shutdown.</summary>
internal sealed class GrainRuntime : IGrainFactory, IGrainCallDispatcher, IAsyncDisposable
{
    private const int Created = 0;
    private const int Running = 1;
    private const int Stopping = 2;
    private const int Stopped = 3;

    private readonly IGrainCallTransport? _transport;
    private int _status;
    private ITimer? _collector;
    private CallTimeoutWheel? _timeouts;

    public GrainRuntime(
        GrainRuntimeOptions options,
        TimeProvider timeProvider,
        GrainTypeRegistry registry,
        IGrainDirectory directory,
        IGrainStorage storage,
        IGrainStateSerializer serializer,
        IServiceProvider services,
        ILogger<GrainRuntime> logger,
        IGrainCallTransport? transport = null,
        System.Diagnostics.Metrics.IMeterFactory? meterFactory = null,
        IClusterMembership? membership = null)
    {
        Options = options;
        TimeProvider = timeProvider;
        Registry = registry;
        Directory = directory;
        Storage = storage;
        Serializer = serializer;
        Services = services;
        Log = logger;
        _transport = transport;
        Membership = membership;
        Catalog = new ActivationCatalog(this);
        Metrics = new GrainMetrics(meterFactory, options.SiloId, () => Catalog.Count);
        if (membership is not null)
        {
            membership.ClaimsVoided += (_, _) => DeactivateAllNow();
        }
    }

    /// <summary>The cluster membership; null for a single-node silo.</summary>
    public IClusterMembership? Membership { get; }

    public GrainRuntimeOptions Options { get; }

    public TimeProvider TimeProvider { get; }

    public GrainTypeRegistry Registry { get; }

    public IGrainDirectory Directory { get; }

    public IGrainStorage Storage { get; }

    public IGrainStateSerializer Serializer { get; }

    public IServiceProvider Services { get; }

    public ILogger Log { get; }

    public ActivationCatalog Catalog { get; }

    public GrainMetrics Metrics { get; }

    /// <summary>New activations are refused once shutdown has begun (existing ones finish their queues).</summary>
    public bool AcceptsActivations => Volatile.Read(ref _status) == Running;

    public void Start()
    {
        if (Interlocked.CompareExchange(ref _status, Running, Created) != Created)
        {
            throw new InvalidOperationException("The grain silo was already started.");
        }

        _timeouts = Options.CallTimeout == Timeout.InfiniteTimeSpan ? null : new CallTimeoutWheel(TimeProvider, Options.CallTimeout);
        _collector = TimeProvider.CreateTimer(static s => ((GrainRuntime)s!).CollectIdle(), this, Options.CollectionInterval, Options.CollectionInterval);
        Log.SiloStarted(Options.SiloId);
    }

    /// <summary>Stops taking calls from outside grains, lets every activation finish its queued turns, deactivates
    /// grains, then observers.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        var previous = Interlocked.CompareExchange(ref _status, Stopping, Running);
        if (previous == Created)
        {
            Volatile.Write(ref _status, Stopped);
            return;
        }

        if (previous != Running)
        {
            return;
        }

        _collector?.Dispose();
        Log.SiloStopping(Options.SiloId, Catalog.Count);
        try
        {
            // Grains first (their OnDeactivateAsync may still notify observers), then observers.
            await DeactivateAllAsync(observers: false).WaitAsync(Options.ShutdownTimeout, TimeProvider, cancellationToken);
            await DeactivateAllAsync(observers: true).WaitAsync(Options.ShutdownTimeout, TimeProvider, cancellationToken);
        }
        catch (TimeoutException)
        {
            Log.ShutdownTimedOut(Options.SiloId, Options.ShutdownTimeout, Catalog.Count);
        }

        Volatile.Write(ref _status, Stopped);
        Log.SiloStopped(Options.SiloId);
    }

    private Task DeactivateAllAsync(bool observers) =>
        Task.WhenAll(Catalog.Activations.ToArray().Where(a => a.GrainId.IsObserver == observers).Select(a => a.DeactivateAsync(DeactivationReason.ShuttingDown)));

    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None);
        _collector?.Dispose();
        _timeouts?.Dispose();
        Metrics.Dispose();
    }

    public TGrain GetGrain<TGrain>(string key)
        where TGrain : IGrainWithStringKey
    {
        ArgumentNullException.ThrowIfNull(key);
        var grainClass = Registry.ForInterface(typeof(TGrain));
        return (TGrain)GrainProxy.Create(this, Registry.MapOf(typeof(TGrain)), new GrainId(grainClass.TypeName, key));
    }

    public TObserver CreateObserverReference<TObserver>(TObserver observer)
        where TObserver : class, IGrainObserver
    {
        ArgumentNullException.ThrowIfNull(observer);
        if (observer is IGrainReference)
        {
            throw new ArgumentException("The observer is already a reference; pass the local object.", nameof(observer));
        }

        // The key names the hosting silo, so a cluster directory can route observer calls without a lookup.
        var id = new GrainId(GrainId.ObserverType, string.Create(CultureInfo.InvariantCulture, $"{Options.SiloId}/{Guid.NewGuid():N}"));
        Catalog.AddObserver(GrainActivation.ForObserver(this, id, observer));
        return (TObserver)GrainProxy.Create(this, Registry.MapOf(typeof(TObserver)), id);
    }

    public async ValueTask DeleteObserverReferenceAsync(IGrainObserver reference)
    {
        if (reference is not IGrainReference { GrainId.IsObserver: true } r)
        {
            throw new ArgumentException("Not an observer reference created by CreateObserverReference.", nameof(reference));
        }

        if (Catalog.TryGet(r.GrainId, out var activation))
        {
            await activation.DeactivateAsync(DeactivationReason.ApplicationRequested);
        }
    }

    public GrainMethodDescriptor? FindMethod(string methodId) => Registry.FindMethod(methodId);

    public IGrainReference GetReference(GrainId grainId, Type interfaceType)
    {
        ArgumentNullException.ThrowIfNull(interfaceType);
        return (IGrainReference)GrainProxy.Create(this, Registry.MapOf(interfaceType), grainId);
    }

    public Task<object?> DispatchAsync(GrainCallMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        return message.Method.InvokeBoxedAsync(this, message);
    }

    /// <summary>Starts a call: from a proxy (chain taken from the calling turn) or from a transport (chain given).</summary>
    public Task<TResult> InvokeAsync<TResult>(GrainId target, GrainMethod<TResult> method, object?[] arguments, CallChain? chain = null, bool fromRemoteSilo = false)
    {
        if (chain is null && GrainTurn.Current is { Activation: { } caller } turn)
        {
            chain = turn.OutgoingChain(caller.GrainId);
        }

        // Calls from inside grains (or chains from other silos) still reach existing activations during shutdown,
        // so that queued turns can finish; calls from outside are refused at once.
        var status = Volatile.Read(ref _status);
        if (status != Running && (chain is null || status == Stopped || status == Created))
        {
            // A remote caller can reach a member between its join and its start: a typed refusal it may retry.
            return Task.FromException<TResult>(status switch
            {
                Created when fromRemoteSilo => new GrainSiloStartingException(target),
                Created => new InvalidOperationException("The grain silo is not started; call StartAsync first."),
                _ => new GrainSiloStoppingException(target),
            });
        }

        var call = new GrainCall<TResult>(target, method, arguments, chain) { RejectIfElsewhere = fromRemoteSilo };
        call.StartTimeout(_timeouts, Options.CallTimeout, Metrics);
        Route(call, target);
        return call.Task;
    }

    /// <summary>Sends a call to the silo the directory names.</summary>
    public void Route<TResult>(GrainCall<TResult> call, GrainId target)
    {
        var location = Directory.LocateAsync(target);
        if (location.IsCompletedSuccessfully)
        {
            RouteTo(call, target, location.Result);
        }
        else
        {
            _ = RouteSlowAsync(call, target, location);
        }
    }

    private async Task RouteSlowAsync<TResult>(GrainCall<TResult> call, GrainId target, ValueTask<GrainLocation> pending)
    {
        try
        {
            RouteTo(call, target, await pending);
        }
#pragma warning disable CA1031 // Directory failures belong to the caller.
        catch (Exception error)
#pragma warning restore CA1031
        {
            call.Fail(error);
        }
    }

    public void RouteTo<TResult>(GrainCall<TResult> call, GrainId target, GrainLocation location)
    {
        if (location.IsLocal)
        {
            // A self-fenced silo runs no turns: its lease may expire and another silo may own the grain by then.
            if (Membership is { IsServing: false })
            {
                call.Fail(new GrainSiloNotServingException(target, Membership.LocalSiloId));
                return;
            }

            Catalog.Deliver(call, target);
        }
        else if (call.RejectIfElsewhere)
        {
            call.Fail(new GrainCallRejectedException(target, location.SiloId));
        }
        else if (_transport is null)
        {
            call.Fail(new GrainException($"Grain {target} lives on silo {location.SiloId}, but this silo has no call transport."));
        }
        else
        {
            _ = call.SendRemoteAsync(_transport, location);
        }
    }

    /// <summary>Every claim of this silo is void: deactivate all grains ahead of their queued turns.</summary>
    private void DeactivateAllNow()
    {
        foreach (var activation in Catalog.Activations)
        {
            if (!activation.GrainId.IsObserver)
            {
                activation.DeactivateNow(DeactivationReason.ClaimLost);
            }
        }
    }

    private void CollectIdle()
    {
        var collected = 0;
        foreach (var activation in Catalog.Activations)
        {
            if (activation.TryCollectIfIdle(Options.IdleDeactivationAge))
            {
                collected++;
            }
        }

        if (collected > 0)
        {
            Log.Collected(collected);
        }
    }
}
