namespace ControlPlane.Grains;

/// <summary>Hands out references to grains and observers. References are cheap, thread-safe and usable from anywhere.</summary>
public interface IGrainFactory
{
    /// <summary>A reference to the grain of interface <typeparamref name="TGrain"/> with key <paramref name="key"/>.
    /// The grain is activated on its first call, not here.</summary>
    TGrain GetGrain<TGrain>(string key) where TGrain : IGrainWithStringKey;

    /// <summary>Makes a local object callable as an observer: calls through the returned reference are delivered
    /// to <paramref name="observer"/> one at a time, in order, off the caller's thread.</summary>
    TObserver CreateObserverReference<TObserver>(TObserver observer) where TObserver : class, IGrainObserver;

    /// <summary>Stops delivery to an observer reference; later calls through it fail with <see cref="GrainObserverGoneException"/>.</summary>
    ValueTask DeleteObserverReferenceAsync(IGrainObserver reference);
}
