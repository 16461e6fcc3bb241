using System.Globalization;
using Microsoft.Extensions.Options;

namespace ControlPlane.Redis;

/// <summary>Where and how to connect. Defaults are written where each option is declared;
/// <see cref="Validate"/> runs when a connection is created.</summary>
public sealed class RedisOptions
{
    /// <summary>Server endpoint as <c>host:port</c> (IPv6 as <c>[::1]:6379</c>).</summary>
    /// <value>Defaults to <c>127.0.0.1:6379</c>.</value>
    public string Endpoint { get; set; } = "127.0.0.1:6379";

    /// <summary>ACL user name for <c>AUTH user password</c>; null uses <c>AUTH password</c> (the default user).</summary>
    public string? User { get; set; }

    /// <summary>Password sent with AUTH on every (re)connect; null sends no AUTH.</summary>
    public string? Password { get; set; }

    /// <summary>Database selected on every (re)connect.</summary>
    /// <value>Must be 0 or more. Defaults to 0.</value>
    public int Database { get; set; }

    /// <summary>Name sent with <c>CLIENT SETNAME</c> (shown by <c>CLIENT LIST</c>); null sends none.
    /// The pub/sub connection appends <c>:sub</c>.</summary>
    /// <value>No spaces or newlines. Defaults to <c>controlplane</c>.</value>
    public string? ClientName { get; set; } = "controlplane";

    /// <summary>Budget for one connection attempt: TCP connect plus AUTH/SELECT/SETNAME.</summary>
    /// <value>Must be between 10 ms and 5 min. Defaults to 5 s.</value>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long a command may wait for its reply, including time queued while reconnecting.</summary>
    /// <value>Must be between 1 ms and 10 min. Defaults to 5 s.</value>
    public TimeSpan CommandTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>First delay between reconnect attempts; it doubles up to <see cref="ReconnectMaxDelay"/>.</summary>
    /// <value>Must be between 1 ms and 1 min. Defaults to 100 ms.</value>
    public TimeSpan ReconnectMinDelay { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Longest delay between reconnect attempts.</summary>
    /// <value>Must be between <see cref="ReconnectMinDelay"/> and 5 min. Defaults to 10 s.</value>
    public TimeSpan ReconnectMaxDelay { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>While disconnected, true queues new commands until the connection returns (or their
    /// timeout passes); false fails them at once with <see cref="RedisConnectionException"/>.</summary>
    /// <value>Defaults to true.</value>
    public bool QueueWhileDisconnected { get; set; } = true;

    /// <summary>Throws <see cref="ArgumentException"/> listing every invalid option.</summary>
    public void Validate()
    {
        var errors = ValidationErrors().ToList();
        if (errors.Count > 0)
        {
            throw new ArgumentException("Invalid RedisOptions: " + string.Join("; ", errors));
        }
    }

    internal IEnumerable<string> ValidationErrors()
    {
        if (!TryParseEndpoint(Endpoint, out _, out _))
        {
            yield return $"Endpoint '{Endpoint}' must be host:port with a port in 1..65535";
        }

        if (Database < 0)
        {
            yield return $"Database must be 0 or more (was {Database})";
        }

        if (ClientName is { } name && (name.Length == 0 || name.AsSpan().IndexOfAny(" \r\n") >= 0))
        {
            yield return "ClientName must be non-empty and contain no spaces or newlines";
        }

        if (User is not null && Password is null)
        {
            yield return "User requires Password";
        }

        foreach (var error in CheckRange(nameof(ConnectTimeout), ConnectTimeout, TimeSpan.FromMilliseconds(10), TimeSpan.FromMinutes(5))
            .Concat(CheckRange(nameof(CommandTimeout), CommandTimeout, TimeSpan.FromMilliseconds(1), TimeSpan.FromMinutes(10)))
            .Concat(CheckRange(nameof(ReconnectMinDelay), ReconnectMinDelay, TimeSpan.FromMilliseconds(1), TimeSpan.FromMinutes(1)))
            .Concat(CheckRange(nameof(ReconnectMaxDelay), ReconnectMaxDelay, ReconnectMinDelay, TimeSpan.FromMinutes(5))))
        {
            yield return error;
        }
    }

    internal (string Host, int Port) ParsedEndpoint() =>
        TryParseEndpoint(Endpoint, out var host, out var port) ? (host, port) : throw new InvalidOperationException("Validate the options first.");

    internal RedisOptions Clone() => (RedisOptions)MemberwiseClone();

    private static IEnumerable<string> CheckRange(string name, TimeSpan value, TimeSpan min, TimeSpan max)
    {
        if (value < min || value > max)
        {
            yield return $"{name} must be between {min} and {max} (was {value})";
        }
    }

    private static bool TryParseEndpoint(string? endpoint, out string host, out int port)
    {
        host = string.Empty;
        port = 0;
        var colon = endpoint?.LastIndexOf(':') ?? -1;
        if (colon <= 0 || !int.TryParse(endpoint.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out port) ||
            port is < 1 or > 65535)
        {
            return false;
        }

        host = endpoint![..colon];
        if (host.StartsWith('[') && host.EndsWith(']'))
        {
            host = host[1..^1];
        }

        return host.Length > 0;
    }
}

/// <summary>Validates <see cref="RedisOptions"/> at start-up when registered with <c>ValidateOnStart</c>.</summary>
public sealed class RedisOptionsValidator : IValidateOptions<RedisOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, RedisOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = options.ValidationErrors().ToList();
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
