using ControlPlane.Redis;
using Microsoft.Extensions.Options;

namespace ControlPlane.Grains.Redis;

/// <summary>Settings of cluster mode over Redis. Validated when the silo is built.</summary>
public sealed class RedisClusterOptions
{
    /// <summary>The prefix of every key and channel, so several clusters (or tests) can share one Redis.</summary>
    /// <value>Non-empty, at most 64 characters, without braces or whitespace. Defaults to "cp:grains".</value>
    public string KeyPrefix { get; set; } = "cp:grains";

    /// <summary>This silo's internal channel endpoint (<c>host:port</c>), published in its member record for other
    /// silos to call. Given by the host.</summary>
    /// <value>Required: <c>host:port</c> with a port between 1 and 65535.</value>
    public string SiloAddress { get; set; } = string.Empty;

    /// <summary>The stable part of the silo id; each join appends a fresh suffix. Null uses
    /// <see cref="GrainRuntimeOptions.SiloId"/>.</summary>
    /// <value>At most 64 characters, no '/' or whitespace. Defaults to null.</value>
    public string? NodeName { get; set; }

    /// <summary>How often the silo renews its lease (and reads the view).</summary>
    /// <value>Between 10 ms and 1 min. Defaults to 1 s.</value>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long a lease lives on Redis without renewal. The silo stops serving turns once
    /// <c>LeaseDuration - 2 × HeartbeatInterval</c> passed since the last successful renewal started.</summary>
    /// <value>At least 4 × <see cref="HeartbeatInterval"/>, at most 10 min. Defaults to 10 s.</value>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The Redis connection, used by <c>UseRedisClustering</c> when no <see cref="IRedisConnection"/> is registered.</summary>
    public RedisOptions Redis { get; set; } = new();

    /// <summary>Time without a successful renewal after which the silo self-fences.</summary>
    internal TimeSpan SelfFenceAfter => LeaseDuration - (2 * HeartbeatInterval);
}

/// <summary>Checks <see cref="RedisClusterOptions"/>.</summary>
internal sealed class RedisClusterOptionsValidator : IValidateOptions<RedisClusterOptions>
{
    internal const int MaxPrefixLength = 64;

    public ValidateOptionsResult Validate(string? name, RedisClusterOptions options)
    {
        var failures = new List<string>();
        if (string.IsNullOrEmpty(options.KeyPrefix) || options.KeyPrefix.Length > MaxPrefixLength
            || options.KeyPrefix.AsSpan().IndexOfAny("{} \t\r\n") >= 0)
        {
            failures.Add($"KeyPrefix must be non-empty, at most {MaxPrefixLength} characters, without braces or whitespace (was '{options.KeyPrefix}').");
        }

        if (!IsHostPort(options.SiloAddress))
        {
            failures.Add($"SiloAddress must be host:port (was '{options.SiloAddress}').");
        }

        if (options.NodeName is { } node && (node.Length is 0 or > MaxPrefixLength || node.AsSpan().IndexOfAny("/ \t\r\n|") >= 0))
        {
            failures.Add($"NodeName must be 1 to {MaxPrefixLength} characters without '/', '|' or whitespace (was '{node}').");
        }

        if (options.HeartbeatInterval < TimeSpan.FromMilliseconds(10) || options.HeartbeatInterval > TimeSpan.FromMinutes(1))
        {
            failures.Add($"HeartbeatInterval must be between 10 ms and 1 min (was {options.HeartbeatInterval}).");
        }

        if (options.LeaseDuration < 4 * options.HeartbeatInterval || options.LeaseDuration > TimeSpan.FromMinutes(10))
        {
            failures.Add($"LeaseDuration must be at least 4 heartbeats ({4 * options.HeartbeatInterval}) and at most 10 min (was {options.LeaseDuration}).");
        }

        if (options.Redis is null)
        {
            failures.Add("Redis options are required.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    internal static bool IsHostPort(string? address)
    {
        if (string.IsNullOrWhiteSpace(address) || address.AsSpan().IndexOfAny(" \t\r\n|") >= 0)
        {
            return false;
        }

        var colon = address.LastIndexOf(':');
        return colon > 0 && int.TryParse(address.AsSpan(colon + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var port)
            && port is > 0 and <= 65535;
    }

    internal static void ThrowIfInvalid(RedisClusterOptions options)
    {
        var result = new RedisClusterOptionsValidator().Validate(null, options);
        if (result.Failed)
        {
            throw new OptionsValidationException(nameof(RedisClusterOptions), typeof(RedisClusterOptions), result.Failures);
        }
    }
}
