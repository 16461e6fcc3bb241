namespace ControlPlane.Client;

/// <summary>Options of <see cref="RoutedExecutor"/>: how many attempts one request may make and how long it backs off
/// between them.</summary>
public sealed class RoutedExecutorOptions
{
    /// <summary>Attempts of one request, the first included. Every attempt asks <c>Route</c> (the node may still refuse a
    /// retry: the class's retry budget, or no approved endpoint left).
    /// <value>Must be between 1 and 10. Defaults to 3.</value></summary>
    public int MaxAttempts { get; set; } = 3;

    /// <summary>Backoff before the first retry after a 429 or 5xx; it doubles per retry and is jittered (each wait is
    /// drawn from [half, all] of the exponential value).
    /// <value>Must be between 1 ms and 10 s. Defaults to 100 ms.</value></summary>
    public TimeSpan BaseBackoff { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Longest exponential backoff (before jitter).
    /// <value>Must be between <see cref="BaseBackoff"/> and 1 min. Defaults to 2 s.</value></summary>
    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Longest wait a provider's Retry-After may impose before the next attempt; a longer one is capped here.
    /// A wait that would end past the caller's deadline is not made: the last failure is thrown at once.
    /// <value>Must be between 0 and 5 min. Defaults to 10 s.</value></summary>
    public TimeSpan MaxRetryAfter { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Whether a first attempt held by a <c>queue_only</c> class (route reason <c>queue_only_hold</c>) waits the
    /// node's <c>retry_after_ms</c> and asks again, until the caller's deadline (or <see cref="MaxQueueHoldWait"/>)
    /// leaves no room; off, the hold is thrown at once as <see cref="NoRouteException"/>.
    /// <value>Defaults to false.</value></summary>
    public bool WaitOnQueueHold { get; set; }

    /// <summary>How long <see cref="WaitOnQueueHold"/> waits in all when the request has no deadline of its own.
    /// <value>Must be between 0 and 10 min. Defaults to 30 s.</value></summary>
    public TimeSpan MaxQueueHoldWait { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the bad option.</summary>
    public RoutedExecutorOptions Validate()
    {
        if (MaxAttempts is < 1 or > 10)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxAttempts), MaxAttempts, "RoutedExecutorOptions.MaxAttempts must be between 1 and 10.");
        }

        Check(nameof(BaseBackoff), BaseBackoff, TimeSpan.FromMilliseconds(1), TimeSpan.FromSeconds(10));
        Check(nameof(MaxBackoff), MaxBackoff, BaseBackoff, TimeSpan.FromMinutes(1));
        Check(nameof(MaxRetryAfter), MaxRetryAfter, TimeSpan.Zero, TimeSpan.FromMinutes(5));
        Check(nameof(MaxQueueHoldWait), MaxQueueHoldWait, TimeSpan.Zero, TimeSpan.FromMinutes(10));
        return this;
    }

    private static void Check(string name, TimeSpan value, TimeSpan min, TimeSpan max)
    {
        if (value < min || value > max)
        {
            throw new ArgumentOutOfRangeException(name, value, $"RoutedExecutorOptions.{name} must be between {min} and {max}.");
        }
    }
}
