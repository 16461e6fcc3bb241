namespace ControlPlane.Fleet;

/// <summary>
/// How a <c>queue_only</c> class holds requests while its primary is unavailable (<c>queue:</c> in the fleet file):
/// each node holds at most <see cref="MaxDepth"/> Route calls of the class, first in first out, each for at most
/// <see cref="MaxWait"/> (or the caller's remaining deadline, whichever is shorter). Zero in either field turns
/// holding off: the class answers <c>queue_only_hold</c> at once, as a class with nowhere to wait.
/// </summary>
public sealed record ClassQueueLimits
{
    /// <summary>Largest <c>max_wait_ms</c> the fleet file accepts (five minutes).</summary>
    public const long MaxWaitLimitMs = 300_000;

    /// <summary>Largest <c>max_depth</c> the fleet file accepts.</summary>
    public const int MaxDepthLimit = 10_000;

    /// <summary>The defaults, for a <c>queue_only</c> class without a <c>queue:</c> block.</summary>
    public static readonly ClassQueueLimits Default = new();

    /// <summary>Longest a Route call waits in the queue.</summary>
    /// <value>Between 0 and 5 min. Defaults to 10 s.</value>
    public TimeSpan MaxWait { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Most Route calls of the class one node holds at once; a call beyond it is answered at once.</summary>
    /// <value>Between 0 and 10,000. Defaults to 100.</value>
    public int MaxDepth { get; init; } = 100;

    /// <summary>True when the class holds calls at all.</summary>
    public bool Holds => MaxWait > TimeSpan.Zero && MaxDepth > 0;
}
