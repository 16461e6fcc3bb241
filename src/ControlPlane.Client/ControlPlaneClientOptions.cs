using System.Security.Cryptography.X509Certificates;

namespace ControlPlane.Client;

/// <summary>Options of <see cref="ControlPlaneClient"/>: the channel's connection tuning, the default deadlines, the
/// retry of <c>Route</c> on UNAVAILABLE, the caller's credential and the TLS trust.</summary>
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

    /// <summary>The caller's credential, an API key (<c>cpk_…</c>) or a JWT, sent as <c>authorization: Bearer …</c> on
    /// every call. Ignored when <see cref="ApiKeyProvider"/> is set.
    /// <value>Null (no credential) or 1 to 8192 visible ASCII characters. Defaults to null.</value></summary>
    public string? ApiKey { get; set; }

    /// <summary>Gives the credential before every call, for tokens that change (a JWT refreshed before it expires);
    /// wins over <see cref="ApiKey"/>. What it returns is checked like <see cref="ApiKey"/>; a bad value fails
    /// the call. <value>Defaults to null.</value></summary>
    public Func<CancellationToken, ValueTask<string>>? ApiKeyProvider { get; set; }

    /// <summary>The root certificate that an <c>https</c> node's certificate must chain to, instead of the system's
    /// trust store (a private CA, or a self-signed node certificate); the host name is checked as usual. Only for
    /// <c>https</c> addresses. <value>Defaults to null (the system's trust store).</value></summary>
    public X509Certificate2? RootCertificate { get; set; }

    /// <summary>Allows sending the credential over plaintext <c>http</c> to an address that is not loopback (where
    /// anyone on the path can read and reuse it). Loopback addresses need no permission.
    /// <value>Defaults to false: such a client is refused when it is created.</value></summary>
    public bool AllowCredentialsWithoutTls { get; set; }

    /// <summary>Whether a credential is configured.</summary>
    internal bool HasCredential => ApiKeyProvider is not null || ApiKey is not null;

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> (or <see cref="ArgumentException"/>) naming the bad option.</summary>
    public ControlPlaneClientOptions Validate()
    {
        if (ApiKey is not null && !IsValidToken(ApiKey))
        {
            throw new ArgumentOutOfRangeException(nameof(ApiKey), "ControlPlaneClientOptions.ApiKey must be 1 to 8,192 visible ASCII characters (no spaces or line breaks).");
        }

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

    /// <summary>A token that can travel in one header value: visible ASCII, no spaces, at most 8 KB.</summary>
    internal static bool IsValidToken(string token)
    {
        if (token.Length is 0 or > 8192)
        {
            return false;
        }

        foreach (var c in token)
        {
            if (c is <= ' ' or > '~')
            {
                return false;
            }
        }

        return true;
    }

    private static void Check(string name, TimeSpan value, TimeSpan min, TimeSpan max)
    {
        if (value < min || value > max)
        {
            throw new ArgumentOutOfRangeException(name, value, $"ControlPlaneClientOptions.{name} must be between {min} and {max}.");
        }
    }
}
