namespace ControlPlane.Testing.Redis;

/// <summary>How a test's redis-server is configured.</summary>
public sealed class RedisServerOptions
{
    /// <summary>Turns on the append-only file (for durability tests); off by default, like <c>--save ''</c>.</summary>
    public bool AppendOnly { get; init; }

    /// <summary><c>appendfsync</c> when <see cref="AppendOnly"/>: <c>always</c> so every acknowledged write is on disk.</summary>
    public string AppendFsync { get; init; } = "always";

    /// <summary>Sets <c>requirepass</c>.</summary>
    public string? RequirePass { get; init; }

    /// <summary>More <c>--name value</c> arguments, passed as they are.</summary>
    public IReadOnlyList<string> ExtraArguments { get; init; } = [];

    /// <summary>How long to wait for the server to answer PING after starting.</summary>
    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromSeconds(15);
}
