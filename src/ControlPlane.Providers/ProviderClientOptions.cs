namespace ControlPlane.Providers;

/// <summary>Options of <see cref="ProviderClient"/>: connection tuning and the bounds on what an upstream may send.</summary>
public sealed class ProviderClientOptions
{
    /// <summary>Largest non-streamed answer body read; a larger one is an invalid response.
    /// <value>Must be between 1 KiB and 256 MiB. Defaults to 16 MiB.</value></summary>
    public int MaxResponseBytes { get; set; } = 16 * 1024 * 1024;

    /// <summary>Largest single server-sent event of a stream; a larger one is an invalid response.
    /// <value>Must be between 1 KiB and 64 MiB. Defaults to 1 MiB.</value></summary>
    public int MaxEventBytes { get; set; } = 1024 * 1024;

    /// <summary>Longest wait for a TCP (and TLS) connection to an upstream.
    /// <value>Must be between 10 ms and 1 min. Defaults to 5 s.</value></summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long an idle pooled connection is kept.
    /// <value>Must be between 1 s and 1 h. Defaults to 90 s.</value></summary>
    public TimeSpan PooledConnectionIdleTimeout { get; set; } = TimeSpan.FromSeconds(90);

    /// <summary>Longest life of a pooled connection (so DNS changes are picked up).
    /// <value>Must be between 1 min and 1 day. Defaults to 10 min.</value></summary>
    public TimeSpan PooledConnectionLifetime { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Once a stream's first event reached the caller, the longest wait for its next event before the stream
    /// is cut (outcome Timeout). The attempt's timeout bounds only the time to the first event; a stream that keeps
    /// producing runs past it, up to the caller's deadline.
    /// <value>Must be between 100 ms and 10 min. Defaults to 30 s.</value></summary>
    public TimeSpan StreamIdleTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the bad option.</summary>
    public ProviderClientOptions Validate()
    {
        if (MaxResponseBytes is < 1024 or > 256 * 1024 * 1024)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxResponseBytes), MaxResponseBytes, "ProviderClientOptions.MaxResponseBytes must be between 1 KiB and 256 MiB.");
        }

        if (MaxEventBytes is < 1024 or > 64 * 1024 * 1024)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxEventBytes), MaxEventBytes, "ProviderClientOptions.MaxEventBytes must be between 1 KiB and 64 MiB.");
        }

        Check(nameof(ConnectTimeout), ConnectTimeout, TimeSpan.FromMilliseconds(10), TimeSpan.FromMinutes(1));
        Check(nameof(PooledConnectionIdleTimeout), PooledConnectionIdleTimeout, TimeSpan.FromSeconds(1), TimeSpan.FromHours(1));
        Check(nameof(PooledConnectionLifetime), PooledConnectionLifetime, TimeSpan.FromMinutes(1), TimeSpan.FromDays(1));
        Check(nameof(StreamIdleTimeout), StreamIdleTimeout, TimeSpan.FromMilliseconds(100), TimeSpan.FromMinutes(10));
        return this;
    }

    private static void Check(string name, TimeSpan value, TimeSpan min, TimeSpan max)
    {
        if (value < min || value > max)
        {
            throw new ArgumentOutOfRangeException(name, value, $"ProviderClientOptions.{name} must be between {min} and {max}.");
        }
    }
}
