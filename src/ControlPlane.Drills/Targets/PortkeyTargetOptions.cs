namespace ControlPlane.Drills.Targets;

/// <summary>How the drill runs the Portkey AI gateway (docs/comparison.md).</summary>
internal sealed class PortkeyTargetOptions
{
    /// <summary>Most gateway replicas.</summary>
    public const int MaxReplicas = 16;

    /// <summary>Portkey caps <c>retry.attempts</c> at 5 (<c>MAX_RETRIES</c>, src/globals.ts).</summary>
    public const int MaxRetryAttempts = 5;

    /// <summary>The folder holding <c>package.json</c>, <c>node_modules/@portkey-ai/gateway</c> and
    /// <c>bind-loopback.mjs</c>; null: <c>bench/portkey</c> found above the current directory or the executable.</summary>
    public string? GatewayDirectory { get; set; }

    /// <summary>The Node.js executable.</summary>
    /// <value>Defaults to <c>node</c> (on the PATH).</value>
    public string NodePath { get; set; } = "node";

    /// <summary>Retries per target (<c>retry.attempts</c>): a failed attempt with a retryable status is repeated this
    /// many times (backoff 1 s, 2 s, 4 s, ...: async-retry's defaults, which Portkey keeps) before the fallback.</summary>
    /// <value>0..<see cref="MaxRetryAttempts"/>. Defaults to 2.</value>
    public int RetryAttempts { get; set; } = 2;

    /// <summary>Per-attempt timeout (<c>request_timeout</c>); null: from the class's latency objective
    /// (<see cref="PortkeyConfigBuilder.DefaultTimeout"/>).</summary>
    /// <value>Null or 100 ms..10 min. Defaults to null.</value>
    public TimeSpan? RequestTimeout { get; set; }

    /// <summary>How long a replica may take to start listening.</summary>
    /// <value>1 s..5 min. Defaults to 60 s (a busy CI machine).</value>
    public TimeSpan StartTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Throws <see cref="ArgumentException"/> naming the offending field.</summary>
    public void Validate()
    {
        Require(RetryAttempts is >= 0 and <= MaxRetryAttempts, "retryAttempts", $"must be between 0 and {MaxRetryAttempts}");
        Require(RequestTimeout is null || (RequestTimeout >= TimeSpan.FromMilliseconds(100) && RequestTimeout <= TimeSpan.FromMinutes(10)),
            "requestTimeout", "must be between 100 ms and 10 min");
        Require(StartTimeout >= TimeSpan.FromSeconds(1) && StartTimeout <= TimeSpan.FromMinutes(5), "startTimeout", "must be between 1 s and 5 min");
        Require(!string.IsNullOrWhiteSpace(NodePath), "nodePath", "must not be empty");
    }

    private static void Require(bool condition, string field, string message)
    {
        if (!condition)
        {
            throw new ArgumentException($"portkey.{field}: {message}", field);
        }
    }
}
