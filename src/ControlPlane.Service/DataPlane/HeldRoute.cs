using Wire = ControlPlane.Contracts.V1;

namespace ControlPlane.Service.DataPlane;

/// <summary>One held Route call.</summary>
internal sealed class HeldRoute(RouteHoldQueue queue, int classIndex, Wire.RouteRequest request, DateTimeOffset? deadlineAt, DateTimeOffset expiresAt,
    Wire.RouteDecision holdReply, CancellationToken cancellationToken, long enqueuedTimestamp)
{
    public RouteHoldQueue Queue { get; } = queue;

    public int ClassIndex { get; } = classIndex;

    public Wire.RouteRequest Request { get; } = request;

    /// <summary>When the caller's deadline (the shorter of deadline_ms and grpc-timeout) passes; null for none.</summary>
    public DateTimeOffset? DeadlineAt { get; } = deadlineAt;

    /// <summary>When the hold answer is due: the class's max wait or the deadline less the reply margin.</summary>
    public DateTimeOffset ExpiresAt { get; } = expiresAt;

    /// <summary>The answer the call got before it was held; sent (with retry_after_ms) when the wait ends.</summary>
    public Wire.RouteDecision HoldReply { get; } = holdReply;

    public CancellationToken CancellationToken { get; } = cancellationToken;

    public long EnqueuedTimestamp { get; } = enqueuedTimestamp;

    public TaskCompletionSource<Wire.RouteDecision> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public LinkedListNode<HeldRoute>? Node { get; set; }

    public ITimer? Timer { get; set; }

    public CancellationTokenRegistration Registration { get; set; }
}
