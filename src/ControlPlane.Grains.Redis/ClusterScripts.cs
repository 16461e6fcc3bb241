using ControlPlane.Redis;

namespace ControlPlane.Grains.Redis;

/// <summary>Every read-modify-write of cluster mode is one Lua script, so Redis runs it atomically. Numbers that could
/// exceed 14 digits (epochs) are passed to <c>redis.call</c> as the strings Redis gave us, never as Lua numbers
/// (which would be formatted in floating point).</summary>
internal static class ClusterScripts
{
    // Prunes members whose lease key is gone (bumping the view once), then returns {view} or {view, live members}.
    // Expects locals members_key, view_key, lease_prefix, channel, known.
    private const string PruneAndView = """
        local all = redis.call('HGETALL', members_key)
        local live = {}
        local pruned = 0
        for i = 1, #all, 2 do
          if redis.call('EXISTS', lease_prefix .. all[i]) == 1 then
            live[#live + 1] = all[i]
            live[#live + 1] = all[i + 1]
          else
            redis.call('HDEL', members_key, all[i])
            pruned = pruned + 1
          end
        end
        local v
        if pruned > 0 then
          v = redis.call('INCR', view_key)
          redis.call('PUBLISH', channel, v)
        else
          v = tonumber(redis.call('GET', view_key) or '0')
        end
        if v == tonumber(known) then return {v} end
        return {v, live}
        """;

    /// <summary>KEYS: incarnation, members, view. ARGV: silo id, address, lease ms, candidate incarnation, lease prefix,
    /// channel. Bootstraps a new incarnation when the key is missing (first start, or Redis lost its data; old members
    /// are dropped then), registers the member with its lease, bumps the view. Returns {incarnation, view}.</summary>
    public static readonly RedisScript Join = new("""
        local inc = redis.call('HGET', KEYS[1], 'id')
        local t = redis.call('TIME')
        local micros = string.format('%06d', tonumber(t[2]))
        if not inc then
          local old = redis.call('HKEYS', KEYS[2])
          for i = 1, #old do redis.call('DEL', ARGV[5] .. old[i]) end
          redis.call('DEL', KEYS[2])
          inc = ARGV[4]
          redis.call('HSET', KEYS[1], 'id', inc, 'base', t[1] .. micros)
        end
        if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then
          return redis.error_reply('DUPLICATE silo id ' .. ARGV[1] .. ' is taken')
        end
        redis.call('SET', ARGV[5] .. ARGV[1], inc, 'PX', ARGV[3])
        redis.call('HSET', KEYS[2], ARGV[1], t[1] .. string.sub(micros, 1, 3) .. '|' .. ARGV[2])
        local v = redis.call('INCR', KEYS[3])
        redis.call('PUBLISH', ARGV[6], v)
        return {inc, v}
        """);

    /// <summary>KEYS: incarnation, members, view. ARGV: incarnation, silo id, lease ms, lease prefix, channel, known view.
    /// Renews the lease only if it still exists (an expired lease is never extended), then prunes and reads the view.
    /// Errors: INCARNATION (data lost), GONE (lease expired).</summary>
    public static readonly RedisScript Heartbeat = new("""
        if redis.call('HGET', KEYS[1], 'id') ~= ARGV[1] then
          return redis.error_reply('INCARNATION the cluster incarnation changed: Redis lost its data')
        end
        if redis.call('PEXPIRE', ARGV[4] .. ARGV[2], ARGV[3]) == 0 then
          return redis.error_reply('GONE lease of ' .. ARGV[2] .. ' expired')
        end
        local members_key, view_key, lease_prefix, channel, known = KEYS[2], KEYS[3], ARGV[4], ARGV[5], ARGV[6]
        """ + "\n" + PruneAndView);

    /// <summary>KEYS: members, view. ARGV: lease prefix, channel. Prunes and returns {view, live members}.</summary>
    public static readonly RedisScript View = new("""
        local members_key, view_key, lease_prefix, channel, known = KEYS[1], KEYS[2], ARGV[1], ARGV[2], '-1'
        """ + "\n" + PruneAndView);

    /// <summary>KEYS: members, view. ARGV: silo id, lease prefix, channel. Drops the lease and the member; returns the
    /// new view (0 if the member was already gone).</summary>
    public static readonly RedisScript Leave = new("""
        redis.call('DEL', ARGV[2] .. ARGV[1])
        if redis.call('HDEL', KEYS[1], ARGV[1]) == 1 then
          local v = redis.call('INCR', KEYS[2])
          redis.call('PUBLISH', ARGV[3], v)
          return v
        end
        return 0
        """);

    /// <summary>KEYS: grain, incarnation. ARGV: incarnation, silo id, lease prefix. Grants a new epoch unless another
    /// silo whose lease is alive owns the grain (then {0, its epoch, owner}). The epoch counter is never deleted; it
    /// starts at the incarnation's base (Redis time in µs) and never below the stored state's epoch.
    /// Errors: INCARNATION, GONE (the claimant's own lease expired).</summary>
    public static readonly RedisScript Claim = new("""
        if redis.call('HGET', KEYS[2], 'id') ~= ARGV[1] then
          return redis.error_reply('INCARNATION the cluster incarnation changed: Redis lost its data')
        end
        if redis.call('EXISTS', ARGV[3] .. ARGV[2]) == 0 then
          return redis.error_reply('GONE lease of ' .. ARGV[2] .. ' expired')
        end
        local owner = redis.call('HGET', KEYS[1], 'owner')
        if owner and owner ~= ARGV[2] and redis.call('EXISTS', ARGV[3] .. owner) == 1 then
          return {0, redis.call('HGET', KEYS[1], 'owner_epoch'), owner}
        end
        if redis.call('HEXISTS', KEYS[1], 'epoch') == 0 then
          redis.call('HSET', KEYS[1], 'epoch', redis.call('HGET', KEYS[2], 'base') or '0')
        end
        local se = redis.call('HGET', KEYS[1], 'state_epoch')
        if se and tonumber(se) > tonumber(redis.call('HGET', KEYS[1], 'epoch')) then
          redis.call('HSET', KEYS[1], 'epoch', se)
        end
        redis.call('HINCRBY', KEYS[1], 'epoch', 1)
        local e = redis.call('HGET', KEYS[1], 'epoch')
        redis.call('HSET', KEYS[1], 'owner', ARGV[2], 'owner_epoch', e)
        return {1, e, ARGV[2]}
        """);

    /// <summary>KEYS: grain. ARGV: silo id, epoch. Drops the claim only if this silo still holds it with that epoch.</summary>
    public static readonly RedisScript Release = new("""
        if redis.call('HGET', KEYS[1], 'owner') == ARGV[1] and redis.call('HGET', KEYS[1], 'owner_epoch') == ARGV[2] then
          redis.call('HDEL', KEYS[1], 'owner', 'owner_epoch')
          return 1
        end
        return 0
        """);

    /// <summary>KEYS: grain, incarnation. ARGV: epoch, expected etag ('' for none), data, silo id ('' outside a cluster),
    /// incarnation, lease prefix, mode ('w' write, 'c' clear). In a cluster the writer must hold the claim with that
    /// epoch, under the current incarnation, with a live lease; then (always) an older epoch than the stored one is
    /// FENCED before the etag is compared (CONFLICT). Returns the new etag ('' for a clear).</summary>
    public static readonly RedisScript Write = new("""
        local g = KEYS[1]
        if ARGV[4] ~= '' then
          if redis.call('HGET', KEYS[2], 'id') ~= ARGV[5] then
            return redis.error_reply('FENCED -1 the cluster incarnation changed')
          end
          if redis.call('EXISTS', ARGV[6] .. ARGV[4]) == 0 then
            return redis.error_reply('FENCED -1 the writer lease expired')
          end
          if redis.call('HGET', g, 'owner') ~= ARGV[4] or redis.call('HGET', g, 'owner_epoch') ~= ARGV[1] then
            return redis.error_reply('FENCED ' .. (redis.call('HGET', g, 'epoch') or '-1') .. ' the claim is held elsewhere')
          end
        end
        local se = redis.call('HGET', g, 'state_epoch')
        if se and tonumber(se) > tonumber(ARGV[1]) then
          return redis.error_reply('FENCED ' .. se .. ' older epoch')
        end
        local etag = redis.call('HGET', g, 'etag') or ''
        if etag ~= ARGV[2] then
          return redis.error_reply('CONFLICT ' .. etag)
        end
        if ARGV[7] == 'c' then
          redis.call('HDEL', g, 'data', 'etag')
          redis.call('HSET', g, 'state_epoch', ARGV[1])
          return ''
        end
        redis.call('HINCRBY', g, 'version', 1)
        local new = redis.call('HGET', g, 'version')
        redis.call('HSET', g, 'data', ARGV[3], 'etag', new, 'state_epoch', ARGV[1])
        return new
        """);
}
