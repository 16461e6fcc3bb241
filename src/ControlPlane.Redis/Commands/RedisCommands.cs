using System.Globalization;

namespace ControlPlane.Redis;

/// <summary>Condition of a SET.</summary>
public enum SetCondition
{
    /// <summary>Always set.</summary>
    Always,

    /// <summary><c>NX</c>: only if the key does not exist (claims, locks).</summary>
    IfNotExists,

    /// <summary><c>XX</c>: only if the key exists (lease renewal).</summary>
    IfExists,
}

/// <summary>Typed helpers for the commands the grain runtime uses, built on
/// <see cref="IRedisConnection.ExecuteAsync"/> so any implementation of the interface gets them.</summary>
public static class RedisCommands
{
    /// <summary>Sends any command: <c>ExecuteAsync("HINCRBY", key, field, 1)</c>.</summary>
    public static Task<RespValue> ExecuteAsync(this IRedisConnection redis, string command, params RedisArgument[] arguments) =>
        Redis(redis).ExecuteAsync(command, arguments);

    /// <summary><c>PING</c>; returns <c>PONG</c>.</summary>
    public static async Task<string> PingAsync(this IRedisConnection redis, CancellationToken cancellationToken = default) =>
        (await Redis(redis).ExecuteAsync("PING", [], cancellationToken).ConfigureAwait(false)).AsString()!;

    /// <summary><c>GET</c>; the null bulk string when the key is missing.</summary>
    public static Task<RespValue> GetAsync(this IRedisConnection redis, RedisArgument key, CancellationToken cancellationToken = default) =>
        Redis(redis).ExecuteAsync("GET", [key], cancellationToken);

    /// <summary><c>GET</c> as UTF-8 text; null when the key is missing.</summary>
    public static async Task<string?> GetStringAsync(this IRedisConnection redis, RedisArgument key, CancellationToken cancellationToken = default) =>
        (await redis.GetAsync(key, cancellationToken).ConfigureAwait(false)).AsString();

    /// <summary><c>SET key value [NX|XX] [PX ms]</c>; true when the value was set, false when the condition failed.</summary>
    public static async Task<bool> SetAsync(
        this IRedisConnection redis,
        RedisArgument key,
        RedisArgument value,
        TimeSpan? expiry = null,
        SetCondition condition = SetCondition.Always,
        CancellationToken cancellationToken = default)
    {
        var arguments = new List<RedisArgument>(5) { key, value };
        if (expiry is { } ttl)
        {
            arguments.Add("PX");
            arguments.Add(Milliseconds(ttl));
        }

        switch (condition)
        {
            case SetCondition.IfNotExists:
                arguments.Add("NX");
                break;
            case SetCondition.IfExists:
                arguments.Add("XX");
                break;
        }

        var reply = await Redis(redis).ExecuteAsync("SET", arguments, cancellationToken).ConfigureAwait(false);
        return !reply.IsNull;
    }

    /// <summary><c>DEL</c>; the number of keys removed.</summary>
    public static async Task<long> DeleteAsync(this IRedisConnection redis, RedisArgument key, CancellationToken cancellationToken = default) =>
        (await Redis(redis).ExecuteAsync("DEL", [key], cancellationToken).ConfigureAwait(false)).AsInt64();

    /// <summary><c>EXISTS</c>.</summary>
    public static async Task<bool> ExistsAsync(this IRedisConnection redis, RedisArgument key, CancellationToken cancellationToken = default) =>
        (await Redis(redis).ExecuteAsync("EXISTS", [key], cancellationToken).ConfigureAwait(false)).AsInt64() > 0;

    /// <summary><c>INCR</c>; the new value.</summary>
    public static async Task<long> IncrementAsync(this IRedisConnection redis, RedisArgument key, CancellationToken cancellationToken = default) =>
        (await Redis(redis).ExecuteAsync("INCR", [key], cancellationToken).ConfigureAwait(false)).AsInt64();

    /// <summary><c>PEXPIRE</c> (millisecond precision; EXPIRE when whole seconds); false when the key does not exist.</summary>
    public static async Task<bool> ExpireAsync(this IRedisConnection redis, RedisArgument key, TimeSpan ttl, CancellationToken cancellationToken = default)
    {
        var milliseconds = Milliseconds(ttl);
        var reply = ttl.Ticks % TimeSpan.TicksPerSecond == 0
            ? await Redis(redis).ExecuteAsync("EXPIRE", [key, (long)ttl.TotalSeconds], cancellationToken).ConfigureAwait(false)
            : await Redis(redis).ExecuteAsync("PEXPIRE", [key, milliseconds], cancellationToken).ConfigureAwait(false);
        return reply.AsInt64() == 1;
    }

    /// <summary><c>HGET</c>; the null bulk string when the field or key is missing.</summary>
    public static Task<RespValue> HashGetAsync(this IRedisConnection redis, RedisArgument key, RedisArgument field, CancellationToken cancellationToken = default) =>
        Redis(redis).ExecuteAsync("HGET", [key, field], cancellationToken);

    /// <summary><c>HSET key field value [field value ...]</c>; the number of fields added (not updated).</summary>
    public static async Task<long> HashSetAsync(
        this IRedisConnection redis, RedisArgument key, IEnumerable<KeyValuePair<RedisArgument, RedisArgument>> fields, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(fields);
        var arguments = new List<RedisArgument> { key };
        foreach (var (field, value) in fields)
        {
            arguments.Add(field);
            arguments.Add(value);
        }

        if (arguments.Count == 1)
        {
            throw new ArgumentException("HSET needs at least one field.", nameof(fields));
        }

        return (await Redis(redis).ExecuteAsync("HSET", arguments, cancellationToken).ConfigureAwait(false)).AsInt64();
    }

    /// <summary><c>HSET key field value</c>; true when the field was added rather than updated.</summary>
    public static async Task<bool> HashSetAsync(
        this IRedisConnection redis, RedisArgument key, RedisArgument field, RedisArgument value, CancellationToken cancellationToken = default) =>
        (await Redis(redis).ExecuteAsync("HSET", [key, field, value], cancellationToken).ConfigureAwait(false)).AsInt64() == 1;

    /// <summary><c>HGETALL</c>, fields decoded as UTF-8; empty when the key is missing.</summary>
    public static async Task<IReadOnlyDictionary<string, RespValue>> HashGetAllAsync(
        this IRedisConnection redis, RedisArgument key, CancellationToken cancellationToken = default)
    {
        var items = (await Redis(redis).ExecuteAsync("HGETALL", [key], cancellationToken).ConfigureAwait(false)).ItemsOrEmpty();
        var result = new Dictionary<string, RespValue>(items.Length / 2, StringComparer.Ordinal);
        for (var i = 0; i + 1 < items.Length; i += 2)
        {
            result[items[i].AsString()!] = items[i + 1];
        }

        return result;
    }

    /// <summary><c>HDEL</c>; the number of fields removed.</summary>
    public static async Task<long> HashDeleteAsync(this IRedisConnection redis, RedisArgument key, RedisArgument field, CancellationToken cancellationToken = default) =>
        (await Redis(redis).ExecuteAsync("HDEL", [key, field], cancellationToken).ConfigureAwait(false)).AsInt64();

    /// <summary><c>TIME</c>: the server's clock, the one clock all nodes share (lease expiry, fencing).</summary>
    public static async Task<DateTimeOffset> TimeAsync(this IRedisConnection redis, CancellationToken cancellationToken = default)
    {
        var items = (await Redis(redis).ExecuteAsync("TIME", [], cancellationToken).ConfigureAwait(false)).ItemsOrEmpty();
        if (items.Length != 2)
        {
            throw new InvalidOperationException($"TIME returned {items.Length} items, expected 2.");
        }

        return DateTimeOffset.FromUnixTimeSeconds(items[0].AsInt64()).AddTicks(items[1].AsInt64() * (TimeSpan.TicksPerMillisecond / 1000));
    }

    /// <summary><c>PUBLISH</c>; the number of subscribers that received it.</summary>
    public static async Task<long> PublishAsync(this IRedisConnection redis, RedisArgument channel, RedisArgument message, CancellationToken cancellationToken = default) =>
        (await Redis(redis).ExecuteAsync("PUBLISH", [channel, message], cancellationToken).ConfigureAwait(false)).AsInt64();

    /// <summary><c>EVAL</c> of ad-hoc source. Prefer <see cref="IRedisConnection.EvaluateAsync"/> with a <see cref="RedisScript"/>.</summary>
    public static Task<RespValue> EvalAsync(
        this IRedisConnection redis, string source, IReadOnlyList<RedisArgument> keys, IReadOnlyList<RedisArgument> arguments, CancellationToken cancellationToken = default) =>
        Redis(redis).ExecuteAsync("EVAL", ScriptCall(source, keys, arguments), cancellationToken);

    /// <summary><c>EVALSHA</c> without fallback: throws <see cref="RedisServerException"/> with prefix NOSCRIPT if uncached.</summary>
    public static Task<RespValue> EvalShaAsync(
        this IRedisConnection redis, string sha1, IReadOnlyList<RedisArgument> keys, IReadOnlyList<RedisArgument> arguments, CancellationToken cancellationToken = default) =>
        Redis(redis).ExecuteAsync("EVALSHA", ScriptCall(sha1, keys, arguments), cancellationToken);

    /// <summary><c>SCRIPT LOAD</c>; returns the SHA1, which equals <see cref="RedisScript.Sha1"/>.</summary>
    public static async Task<string> ScriptLoadAsync(this IRedisConnection redis, RedisScript script, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(script);
        return (await Redis(redis).ExecuteAsync("SCRIPT", ["LOAD", script.Source], cancellationToken).ConfigureAwait(false)).AsString()!;
    }

    /// <summary><c>INFO [section]</c> as text.</summary>
    public static async Task<string> InfoAsync(this IRedisConnection redis, string? section = null, CancellationToken cancellationToken = default)
    {
        RedisArgument[] arguments = section is null ? [] : [section];
        return (await Redis(redis).ExecuteAsync("INFO", arguments, cancellationToken).ConfigureAwait(false)).AsString()!;
    }

    /// <summary><c>FLUSHDB</c>: deletes every key of the selected database (tests, never production paths).</summary>
    public static Task FlushDatabaseAsync(this IRedisConnection redis, CancellationToken cancellationToken = default) =>
        Redis(redis).ExecuteAsync("FLUSHDB", [], cancellationToken);

    private static IRedisConnection Redis(IRedisConnection redis)
    {
        ArgumentNullException.ThrowIfNull(redis);
        return redis;
    }

    private static long Milliseconds(TimeSpan ttl) =>
        ttl > TimeSpan.Zero
            ? (long)Math.Ceiling(ttl.TotalMilliseconds)
            : throw new ArgumentOutOfRangeException(nameof(ttl), ttl.ToString("c", CultureInfo.InvariantCulture), "An expiry must be positive.");

    internal static RedisArgument[] ScriptCall(string scriptOrSha, IReadOnlyList<RedisArgument> keys, IReadOnlyList<RedisArgument> arguments)
    {
        ArgumentNullException.ThrowIfNull(scriptOrSha);
        ArgumentNullException.ThrowIfNull(keys);
        ArgumentNullException.ThrowIfNull(arguments);
        return [scriptOrSha, keys.Count, .. keys, .. arguments];
    }
}
