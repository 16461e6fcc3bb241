namespace ControlPlane.Client;

/// <summary>Options of <see cref="ControlPlaneClient"/>: the channel's connection tuning, the default deadlines and the
/// retry of <c>Route</c> on UNAVAILABLE.</summary>
public sealed class ControlPlaneClientOptions
{
    /// <summary>Deadline of a <c>Route</c> call (all its attempts) when the caller gives none.
    /// <value>Must be between 10 ms and 1 min. Defaults to 2 s.</value></summary>
    public TimeSpan RouteTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Deadline of a <c>ReportOutcome</c> call or of one <c>ReportOutcomes</c> stream.
    /// <value>Must be between 10 ms and 5 min. Defaults to 10 s.</value></summary>
    public TimeSpan ReportTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Attempts of one <c>Route</c> call, the first included; only UNAVAILABLE is retried, and reporting
    /// never is (it is not idempotent). 1 turns retries off.
    /// <value>Must be between 1 and 5 (Grpc.Net.Client's own cap). Defaults to 3.</value></summary>
    public int RouteMaxAttempts { get; set; } = 3;

    /// <summary>Backoff before the first <c>Route</c> retry (Grpc.Net.Client jitters it and multiplies it by 1.5 per retry).
    /// <value>Must be between 1 ms and 10 s. Defaults to 50 ms.</value></summary>
    public TimeSpan RouteInitialBackoff { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>Longest backoff between <c>Route</c> retries.
    /// <value>Must be between <see cref="RouteInitialBackoff"/> and 1 min. Defaults to 500 ms.</value></summary>
    public TimeSpan RouteMaxBackoff { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Longest wait for a TCP connection to the node.
    /// <value>Must be between 10 ms and 1 min. Defaults to 2 s.</value></summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Idle time on a connection with calls in flight before an HTTP/2 PING checks it is alive.
    /// <value>Must be between 1 s and 1 h. Defaults to 60 s.</value></summary>
    public TimeSpan KeepAlivePingDelay { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Time a PING may go unanswered before the connection is closed.
    /// <value>Must be between 1 s and 10 min. Defaults to 30 s.</value></summary>
    public TimeSpan KeepAlivePingTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The credential sent with every call as <c>authorization: Bearer &lt;token&gt;</c>: an API key
    /// (<c>cpk_...</c>, holding the <c>data-plane</c> or <c>reporter</c> role) or a JWT. Null sends none (the node then
    /// answers UNAUTHENTICATED). <value>At most 8,192 visible ASCII characters. Defaults to null.</value></summary>
    public string? ApiKey { get; set; }

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the bad option.</summary>
    public ControlPlaneClientOptions Validate()
    {
        Check(nameof(RouteTimeout), RouteTimeout, TimeSpan.FromMilliseconds(10), TimeSpan.FromMinutes(1));
        Check(nameof(ReportTimeout), ReportTimeout, TimeSpan.FromMilliseconds(10), TimeSpan.FromMinutes(5));
        if (RouteMaxAttempts is < 1 or > 5)
        {
            throw new ArgumentOutOfRangeException(nameof(RouteMaxAttempts), RouteMaxAttempts, "ControlPlaneClientOptions.RouteMaxAttempts must be between 1 and 5.");
        }

        Check(nameof(RouteInitialBackoff), RouteInitialBackoff, TimeSpan.FromMilliseconds(1), TimeSpan.FromSeconds(10));
        Check(nameof(RouteMaxBackoff), RouteMaxBackoff, RouteInitialBackoff, TimeSpan.FromMinutes(1));
        Check(nameof(ConnectTimeout), ConnectTimeout, TimeSpan.FromMilliseconds(10), TimeSpan.FromMinutes(1));
        Check(nameof(KeepAlivePingDelay), KeepAlivePingDelay, TimeSpan.FromSeconds(1), TimeSpan.FromHours(1));
        Check(nameof(KeepAlivePingTimeout), KeepAlivePingTimeout, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(10));
        if (ApiKey is not null && (ApiKey.Length is 0 or > 8_192 || ApiKey.Any(c => c is <= ' ' or > '~')))
        {
            throw new ArgumentOutOfRangeException(nameof(ApiKey), "ControlPlaneClientOptions.ApiKey must be 1 to 8,192 visible ASCII characters.");
        }

        return this;
    }

    private static void Check(string name, TimeSpan value, TimeSpan min, TimeSpan max)
    {
        if (value < min || value > max)
        {
            throw new ArgumentOutOfRangeException(name, value, $"ControlPlaneClientOptions.{name} must be between {min} and {max}.");
        }
    }
}
