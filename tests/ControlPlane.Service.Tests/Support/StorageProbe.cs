using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;

namespace ControlPlane.Service.Tests.Support;

/// <summary>Sits between the grains and the real grain storage named <see cref="GrainStorage.Name"/>: counts writes per
/// grain, can make reads of chosen grains fail (their state store unreachable), and reads stored state directly.
/// One probe per node: it wraps that node's provider.</summary>
internal sealed class StorageProbe : IGrainStorage, ILifecycleParticipant<ISiloLifecycle>
{
    private readonly ConcurrentDictionary<GrainId, int> _writes = new();
    private IGrainStorage? _inner;
    private volatile Func<GrainId, bool>? _failReads;
    private volatile Func<GrainId, bool>? _failWrites;

    /// <summary>Reads of grains for which this returns true throw <see cref="IOException"/>; null: none fail.</summary>
    public Func<GrainId, bool>? FailReads
    {
        get => _failReads;
        set => _failReads = value;
    }

    /// <summary>Writes of grains for which this returns true throw <see cref="IOException"/> (storage unreachable) and
    /// store nothing; null: none fail.</summary>
    public Func<GrainId, bool>? FailWrites
    {
        get => _failWrites;
        set => _failWrites = value;
    }

    private IGrainStorage Inner => _inner ?? throw new InvalidOperationException("The probe is not attached to a silo yet.");

    /// <summary>Successful writes of <paramref name="grainId"/>'s state so far.</summary>
    public int Writes(GrainId grainId) => _writes.GetValueOrDefault(grainId);

    /// <summary>What storage holds for a grain (bypassing the grain).</summary>
    public async Task<(T State, bool Exists, string? ETag)> ReadStoredAsync<T>(string stateName, GrainId grainId)
        where T : new()
    {
        var state = new GrainState<T>(new T());
        await Inner.ReadStateAsync(stateName, grainId, state);
        return (state.State ?? new T(), state.RecordExists, state.ETag);
    }

    /// <summary>Replaces the keyed registration of <see cref="GrainStorage.Name"/> with this probe over the provider
    /// it replaces. The probe forwards the silo lifecycle, so the provider still opens and closes its file.</summary>
    public void Decorate(IServiceCollection services)
    {
        var original = services.Last(d => d.ServiceType == typeof(IGrainStorage) && d.IsKeyedService && Equals(d.ServiceKey, GrainStorage.Name));
        services.Remove(original);
        services.AddKeyedSingleton<IGrainStorage>(GrainStorage.Name, (sp, key) =>
        {
            _inner = original.KeyedImplementationFactory is { } factory ? (IGrainStorage)factory(sp, key)
                : original.KeyedImplementationInstance as IGrainStorage
                ?? (IGrainStorage)ActivatorUtilities.CreateInstance(sp, original.KeyedImplementationType!);
            return this;
        });
    }

    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        FailReads?.Invoke(grainId) == true
            ? Task.FromException(new IOException($"state of {grainId} is unreachable"))
            : Inner.ReadStateAsync(stateName, grainId, grainState);

    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        if (FailWrites?.Invoke(grainId) == true)
        {
            throw new IOException($"state of {grainId} is unreachable");
        }

        await Inner.WriteStateAsync(stateName, grainId, grainState);
        _writes.AddOrUpdate(grainId, 1, (_, n) => n + 1);
    }

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        Inner.ClearStateAsync(stateName, grainId, grainState);

    public void Participate(ISiloLifecycle lifecycle) => (Inner as ILifecycleParticipant<ISiloLifecycle>)?.Participate(lifecycle);
}
