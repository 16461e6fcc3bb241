namespace ControlPlane.Grains;

/// <summary>Marker for grain interfaces. Every method must return <see cref="Task"/>, <see cref="Task{TResult}"/>,
/// <see cref="ValueTask"/> or <see cref="ValueTask{TResult}"/>.</summary>
#pragma warning disable CA1040 // Marker interfaces are the programming model, as in Orleans.
public interface IGrain;

/// <summary>Marker for grains addressed by a string key.</summary>
public interface IGrainWithStringKey : IGrain;

/// <summary>Marker for observer interfaces: objects outside grains that grains push changes to.</summary>
public interface IGrainObserver;
#pragma warning restore CA1040

/// <summary>Implemented by every grain and observer reference (proxy) handed out by the runtime.</summary>
public interface IGrainReference
{
    /// <summary>The grain (or observer) this reference calls.</summary>
    GrainId GrainId { get; }

    /// <summary>The grain or observer interface the reference implements.</summary>
    Type InterfaceType { get; }
}
