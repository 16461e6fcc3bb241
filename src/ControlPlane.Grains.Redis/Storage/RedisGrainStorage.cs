using System.Globalization;
using ControlPlane.Grains.Redis.Membership;
using ControlPlane.Grains.Storage;
using ControlPlane.Redis;

namespace ControlPlane.Grains.Redis.Storage;

/// <summary>Grain state in Redis: one hash per grain (<c>{prefix}:grain:{type/key}</c>) with the state bytes, etag,
/// state epoch and (in a cluster) the claim. Every write is one Lua script that checks, in a cluster, the incarnation,
/// the writer's lease and its claim, then the epoch (FENCED) and the etag (CONFLICT). Clearing keeps the epoch.</summary>
public sealed class RedisGrainStorage : IGrainStorage
{
    private readonly IRedisConnection _redis;
    private readonly ClusterKeys _keys;
    private readonly RedisClusterMembership? _membership;

    /// <summary>Storage outside a cluster (single node over Redis): only the epoch and etag are checked.</summary>
    /// <param name="redis">The shared command connection.</param>
    /// <param name="keyPrefix">The key prefix (see <see cref="RedisClusterOptions.KeyPrefix"/>).</param>
    public RedisGrainStorage(IRedisConnection redis, string keyPrefix = "cp:grains")
    {
        ArgumentNullException.ThrowIfNull(redis);
        ArgumentException.ThrowIfNullOrWhiteSpace(keyPrefix);
        _redis = redis;
        _keys = new ClusterKeys(keyPrefix);
    }

    /// <summary>Storage of a cluster silo: writes must also hold the grain's claim, under a live lease and the current
    /// incarnation.</summary>
    public RedisGrainStorage(RedisClusterMembership membership)
    {
        ArgumentNullException.ThrowIfNull(membership);
        _redis = membership.Redis;
        _keys = membership.Keys;
        _membership = membership;
    }

    /// <inheritdoc />
    public async ValueTask<GrainStateRecord?> ReadAsync(GrainId grainId, CancellationToken cancellationToken = default)
    {
        var reply = await _redis.ExecuteAsync("HMGET", [_keys.Grain(grainId), "data", "etag", "state_epoch"], cancellationToken).ConfigureAwait(false);
        var fields = reply.AsArray()!;
        if (fields[2].IsNull)
        {
            return null;
        }

        var epoch = fields[2].AsInt64();
        return fields[0].IsNull
            ? new GrainStateRecord(null, null, epoch)
            : new GrainStateRecord(fields[0].AsBytes(), fields[1].AsString(), epoch);
    }

    /// <inheritdoc />
    public async ValueTask<string> WriteAsync(GrainId grainId, ReadOnlyMemory<byte> state, string? expectedETag, long epoch, CancellationToken cancellationToken = default)
    {
        var reply = await RunAsync(grainId, state, expectedETag, epoch, clear: false, cancellationToken).ConfigureAwait(false);
        return reply.AsString()!;
    }

    /// <inheritdoc />
    public async ValueTask ClearAsync(GrainId grainId, string? expectedETag, long epoch, CancellationToken cancellationToken = default) =>
        await RunAsync(grainId, ReadOnlyMemory<byte>.Empty, expectedETag, epoch, clear: true, cancellationToken).ConfigureAwait(false);

    private async Task<RespValue> RunAsync(GrainId grainId, ReadOnlyMemory<byte> state, string? expectedETag, long epoch, bool clear, CancellationToken cancellationToken)
    {
        // A silo between a lost lease and its rejoin writes with an identity Redis will refuse.
        var identity = _membership is null ? null : _membership.Identity ?? new LocalIdentity("\u0000lost", string.Empty);
        try
        {
            return await _redis.EvaluateAsync(
                ClusterScripts.Write,
                [_keys.Grain(grainId), _keys.Incarnation],
                [
                    epoch.ToString(CultureInfo.InvariantCulture),
                    expectedETag ?? string.Empty,
                    state,
                    identity?.SiloId ?? string.Empty,
                    identity?.Incarnation ?? string.Empty,
                    _keys.LeasePrefix,
                    clear ? "c" : "w",
                ],
                cancellationToken).ConfigureAwait(false);
        }
        catch (RedisServerException error) when (error.Prefix == "FENCED")
        {
            throw new GrainFencedException(grainId, epoch, FirstNumber(error.ErrorMessage));
        }
        catch (RedisServerException error) when (error.Prefix == "CONFLICT")
        {
            var stored = error.ErrorMessage.Length == 0 ? null : error.ErrorMessage;
            throw new GrainStorageConflictException(grainId, expectedETag, stored);
        }
    }

    private static long FirstNumber(string message)
    {
        var space = message.IndexOf(' ', StringComparison.Ordinal);
        return long.TryParse(space < 0 ? message : message[..space], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value) ? value : -1;
    }
}
