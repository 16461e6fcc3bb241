using System.Collections.Immutable;
using ControlPlane.Grains.Proxies;

namespace ControlPlane.Grains.Transport;

/// <summary>Carries grain calls to other silos. Single-node mode has none (every call is in-process); the cluster
/// supplies one over the internal gRPC channel, serializing <see cref="GrainCallMessage.Arguments"/> by
/// <see cref="GrainMethodDescriptor.ParameterTypes"/> and the result by <see cref="GrainMethodDescriptor.ResultType"/>.</summary>
public interface IGrainCallTransport
{
    /// <summary>Sends a call to <paramref name="destination"/> and returns its result (null for methods without one).
    /// The remote side hands the message to its <see cref="IGrainCallDispatcher"/>.</summary>
    Task<object?> SendAsync(Placement.GrainLocation destination, GrainCallMessage message, CancellationToken cancellationToken);
}

/// <summary>Receives grain calls that arrived from other silos (the ingress half of the transport seam).</summary>
public interface IGrainCallDispatcher
{
    /// <summary>Finds a method by <see cref="GrainMethodDescriptor.Id"/>, for decoding incoming calls.</summary>
    GrainMethodDescriptor? FindMethod(string methodId);

    /// <summary>Makes a reference bound to this silo from a grain or observer id received on the wire (for decoding
    /// reference-typed arguments and results).</summary>
    IGrainReference GetReference(GrainId grainId, Type interfaceType);

    /// <summary>Runs the call on the local activation (activating it if needed) and returns its boxed result.</summary>
    Task<object?> DispatchAsync(GrainCallMessage message);
}

/// <summary>A grain call in transport form.</summary>
/// <param name="Target">The grain or observer called.</param>
/// <param name="Method">The interface method.</param>
/// <param name="Arguments">The arguments, in declaration order.</param>
/// <param name="Chain">The call chain when the call came from inside a grain turn (for reentrancy), else null.</param>
public sealed record GrainCallMessage(GrainId Target, GrainMethodDescriptor Method, object?[] Arguments, CallChain? Chain)
{
    /// <summary>True when the message arrived from another silo: if the grain turns out to live elsewhere, the call
    /// fails with <see cref="GrainCallRejectedException"/> (not run) instead of being forwarded, so the caller
    /// retries on the owner and the hop count stays with the caller.</summary>
    public bool FromRemoteSilo { get; init; }
}

/// <summary>Identifies a chain of nested grain calls (A calls B calls C...). A call may enter an activation that is busy
/// with a turn of the same chain when that activation is upstream in the chain (A->B->A), which would otherwise deadlock.</summary>
/// <param name="Id">The chain id, shared by every call of the chain.</param>
/// <param name="Path">The activations the chain passed through, outermost first.</param>
public sealed record CallChain(Guid Id, ImmutableArray<GrainId> Path)
{
    /// <summary>True when <paramref name="grainId"/> is upstream in the chain.</summary>
    public bool Passes(GrainId grainId) => Path.Contains(grainId);
}
