using ControlPlane.Grains.Placement;
using ControlPlane.Grains.Runtime;
using ControlPlane.Grains.Storage;
using ControlPlane.Grains.Transport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace ControlPlane.Grains;

/// <summary>Configures a grain silo: grains, storage, options, and the placement/transport seams. Build a standalone
/// silo with <see cref="Build"/>, or add one to an application's services with
/// <see cref="GrainServiceCollectionExtensions.AddGrainSilo"/>.</summary>
public sealed class GrainSiloBuilder
{
    private readonly GrainTypeRegistry _registry = new();

    /// <summary>A builder with its own service collection (for a standalone silo).</summary>
    public GrainSiloBuilder()
        : this(new ServiceCollection())
    {
    }

    /// <summary>A builder that registers the silo into <paramref name="services"/>.</summary>
    public GrainSiloBuilder(IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        Services = services;
        Services.AddOptions<GrainRuntimeOptions>();
        Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<GrainRuntimeOptions>, GrainRuntimeOptionsValidator>());
        Services.TryAddSingleton(TimeProvider.System);
        Services.TryAddSingleton<IGrainStateSerializer>(new JsonGrainStateSerializer());
        Services.TryAddSingleton<IGrainDirectory>(sp => new LocalGrainDirectory(sp.GetRequiredService<IOptions<GrainRuntimeOptions>>().Value));
        Services.AddSingleton(_registry);
        Services.TryAddSingleton(sp => new GrainRuntime(
            sp.GetRequiredService<IOptions<GrainRuntimeOptions>>().Value,
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<GrainTypeRegistry>(),
            sp.GetRequiredService<IGrainDirectory>(),
            sp.GetService<IGrainStorage>() ?? throw new InvalidOperationException("No grain storage configured: call UseMemoryStorage, UseSqliteStorage or UseStorage."),
            sp.GetRequiredService<IGrainStateSerializer>(),
            sp,
            sp.GetRequiredService<ILogger<GrainRuntime>>(),
            sp.GetService<IGrainCallTransport>(),
            sp.GetService<System.Diagnostics.Metrics.IMeterFactory>(),
            sp.GetService<IClusterMembership>()));
        Services.TryAddSingleton<IGrainFactory>(sp => sp.GetRequiredService<GrainRuntime>());
        Services.TryAddSingleton<IGrainCallDispatcher>(sp => sp.GetRequiredService<GrainRuntime>());
        Services.TryAddSingleton(sp => new GrainSilo(sp.GetRequiredService<GrainRuntime>(), ownedServices: null));
    }

    /// <summary>The services grains are constructed from (register grain dependencies here).</summary>
    public IServiceCollection Services { get; }

    /// <summary>Adjusts <see cref="GrainRuntimeOptions"/>.</summary>
    public GrainSiloBuilder Configure(Action<GrainRuntimeOptions> configure)
    {
        Services.Configure(configure);
        return this;
    }

    /// <summary>Registers grain class <typeparamref name="TGrain"/> as the implementation of <typeparamref name="TInterface"/>.</summary>
    public GrainSiloBuilder AddGrain<TInterface, TGrain>()
        where TInterface : IGrainWithStringKey
        where TGrain : Grain, TInterface
    {
        _registry.AddGrain(typeof(TInterface), typeof(TGrain));
        return this;
    }

    /// <summary>Declares an observer interface up front, so calls to it can be decoded from other silos.</summary>
    public GrainSiloBuilder AddObserverInterface<TObserver>()
        where TObserver : class, IGrainObserver
    {
        _registry.AddObserverInterface(typeof(TObserver));
        return this;
    }

    /// <summary>Uses <paramref name="timeProvider"/> for timers, idle collection, call timeouts and subscriptions.</summary>
    public GrainSiloBuilder UseTimeProvider(TimeProvider timeProvider)
    {
        Services.Replace(ServiceDescriptor.Singleton(timeProvider));
        return this;
    }

    /// <summary>Stores grain state with the given provider (the silo disposes it if it is disposable and created here).</summary>
    public GrainSiloBuilder UseStorage(Func<IServiceProvider, IGrainStorage> factory)
    {
        Services.Replace(ServiceDescriptor.Singleton(factory));
        return this;
    }

    /// <summary>Stores grain state in an existing provider instance (not disposed by the silo).</summary>
    public GrainSiloBuilder UseStorage(IGrainStorage storage)
    {
        Services.Replace(ServiceDescriptor.Singleton(storage));
        return this;
    }

    /// <summary>Stores grain state in process memory (lost when the process ends).</summary>
    public GrainSiloBuilder UseMemoryStorage() => UseStorage(_ => new MemoryGrainStorage());

    /// <summary>Serializes state with <paramref name="serializer"/> instead of the default System.Text.Json one.</summary>
    public GrainSiloBuilder UseStateSerializer(IGrainStateSerializer serializer)
    {
        Services.Replace(ServiceDescriptor.Singleton(serializer));
        return this;
    }

    /// <summary>Replaces single-node placement with a directory (the cluster's claims and rendezvous placement).</summary>
    public GrainSiloBuilder UseDirectory(Func<IServiceProvider, IGrainDirectory> factory)
    {
        Services.Replace(ServiceDescriptor.Singleton(factory));
        return this;
    }

    /// <summary>Adds a transport for calls to grains on other silos.</summary>
    public GrainSiloBuilder UseCallTransport(Func<IServiceProvider, IGrainCallTransport> factory)
    {
        Services.Replace(ServiceDescriptor.Singleton(factory));
        return this;
    }

    /// <summary>Builds a standalone silo that owns its services; start it with <see cref="GrainSilo.StartAsync"/>.</summary>
    /// <exception cref="OptionsValidationException">The options are out of range.</exception>
    public GrainSilo Build()
    {
        // Silent unless the caller added logging (Services.AddLogging(...)) before building.
        Services.TryAddSingleton<ILoggerFactory>(NullLoggerFactory.Instance);
        Services.TryAdd(ServiceDescriptor.Singleton(typeof(ILogger<>), typeof(NullLogger<>)));
        var services = Services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
        try
        {
            var runtime = services.GetRequiredService<GrainRuntime>();
            return new GrainSilo(runtime, services);
        }
        catch
        {
            services.Dispose();
            throw;
        }
    }
}
