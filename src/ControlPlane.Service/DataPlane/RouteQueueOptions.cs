namespace ControlPlane.Service.DataPlane;

/// <summary>Node-side timing of the queue of held Route calls (the per-class limits are in the fleet file,
/// <c>queue: { max_wait_ms, max_depth }</c>).</summary>
public sealed class RouteQueueOptions
{
    /// <summary>How often held calls are re-checked when nothing was pushed (a rate-limit cooldown that simply runs
    /// out, a quota that refills). Pushes and lease installs re-check at once; this is the safety net.
    /// <value>Must be between 10 ms and 5 s. Defaults to 200 ms.</value></summary>
    public TimeSpan RecheckInterval { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>How long before the caller's deadline a held call is answered (with <c>queue_only_hold</c>), so the
    /// answer reaches the caller before its deadline does. A held call with less than this left is never given an
    /// endpoint: a decision the caller cannot receive in time must not spend quota. The margin actually used is the larger
    /// of this and a tenth of the call's remaining deadline (200 ms for a 2 s call), for callers on a busy network.
    /// <value>Must be between 1 ms and 5 s. Defaults to 50 ms.</value></summary>
    public TimeSpan ReplyMargin { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first bad option.</summary>
    public RouteQueueOptions Validate()
    {
        if (RecheckInterval < TimeSpan.FromMilliseconds(10) || RecheckInterval > TimeSpan.FromSeconds(5))
        {
            throw new ArgumentOutOfRangeException(nameof(RecheckInterval), RecheckInterval, "ControlPlaneOptions.Queue.RecheckInterval must be between 10 ms and 5 s.");
        }

        if (ReplyMargin < TimeSpan.FromMilliseconds(1) || ReplyMargin > TimeSpan.FromSeconds(5))
        {
            throw new ArgumentOutOfRangeException(nameof(ReplyMargin), ReplyMargin, "ControlPlaneOptions.Queue.ReplyMargin must be between 1 ms and 5 s.");
        }

        return this;
    }
}
