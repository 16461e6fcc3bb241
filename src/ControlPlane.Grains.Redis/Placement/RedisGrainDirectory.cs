using System.Collections.Concurrent;
using System.Globalization;
using ControlPlane.Grains.Placement;
using ControlPlane.Grains.Redis.Membership;
using ControlPlane.Redis;

namespace ControlPlane.Grains.Redis.Placement;

/// <summary>The cluster directory: <see cref="LocateAsync"/> answers from a cache of known owners (while they are
/// live members) or by rendezvous hashing over the live members; <see cref="ClaimAsync"/> is one Lua script that
/// grants a new, strictly larger fencing epoch or redirects to the live owner.</summary>
public sealed class RedisGrainDirectory : IGrainDirectory
{
    private readonly RedisClusterMembership _membership;
    private readonly ConcurrentDictionary<GrainId, string> _owners = new();

    /// <summary>Creates the directory of the silo that <paramref name="membership"/> registers.</summary>
    public RedisGrainDirectory(RedisClusterMembership membership)
    {
        ArgumentNullException.ThrowIfNull(membership);
        _membership = membership;
        _membership.Changed += (_, _) => ForgetDeadOwners();
    }

    /// <inheritdoc />
    public ValueTask<GrainLocation> LocateAsync(GrainId grainId, CancellationToken cancellationToken = default)
    {
        var local = _membership.LocalSiloId;
        if (grainId.IsObserver)
        {
            return ValueTask.FromResult(LocateObserver(grainId, local));
        }

        if (_owners.TryGetValue(grainId, out var owner) && (owner == local || _membership.FindMember(owner) is not null))
        {
            return ValueTask.FromResult(new GrainLocation(owner, owner == local));
        }

        var target = RendezvousPlacement.Pick(grainId, _membership.Members)?.SiloId ?? local;
        return ValueTask.FromResult(new GrainLocation(target, target == local));
    }

    /// <inheritdoc />
    public async ValueTask<GrainClaim> ClaimAsync(GrainId grainId, CancellationToken cancellationToken = default)
    {
        // A self-fenced silo takes no new claims: its lease may expire while the activation would still start.
        var identity = _membership.Identity;
        if (identity is null || !_membership.IsServing)
        {
            throw new GrainSiloNotServingException(grainId, _membership.LocalSiloId);
        }

        var keys = _membership.Keys;
        RespValue reply;
        try
        {
            reply = await _membership.Redis.EvaluateAsync(
                ClusterScripts.Claim,
                [keys.Grain(grainId), keys.Incarnation],
                [identity.Incarnation, identity.SiloId, keys.LeasePrefix],
                cancellationToken).ConfigureAwait(false);
        }
        catch (RedisServerException error) when (error.Prefix is "GONE" or "INCARNATION")
        {
            throw new GrainSiloNotServingException(grainId, identity.SiloId);
        }

        var parts = reply.AsArray()!;
        var epoch = parts[1].AsInt64();
        var owner = parts[2].AsString()!;
        _owners[grainId] = owner;
        return parts[0].AsInt64() == 1
            ? new GrainClaim(Granted: true, epoch, new GrainLocation(owner, IsLocal: true))
            : new GrainClaim(Granted: false, epoch, new GrainLocation(owner, IsLocal: false));
    }

    /// <inheritdoc />
    public async ValueTask ReleaseAsync(GrainId grainId, GrainClaim claim, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(claim);
        if (!claim.Granted || claim.Owner is not { } owner)
        {
            return;
        }

        _owners.TryRemove(new KeyValuePair<GrainId, string>(grainId, owner.SiloId));
        await _membership.Redis.EvaluateAsync(
            ClusterScripts.Release,
            [_membership.Keys.Grain(grainId)],
            [owner.SiloId, claim.Epoch.ToString(CultureInfo.InvariantCulture)],
            cancellationToken).ConfigureAwait(false);
    }

    // Observer keys start with the id of the silo that created them ("{silo}/{guid}"); the silo id there is the node
    // name (GrainRuntimeOptions.SiloId) or a full member id.
    private GrainLocation LocateObserver(GrainId observerId, string local)
    {
        var slash = observerId.Key.IndexOf('/', StringComparison.Ordinal);
        var silo = slash < 0 ? observerId.Key : observerId.Key[..slash];
        if (silo == local || NodeOf(local) == silo)
        {
            return new GrainLocation(local, IsLocal: true);
        }

        foreach (var member in _membership.Members)
        {
            if (member.SiloId == silo || NodeOf(member.SiloId) == silo)
            {
                return new GrainLocation(member.SiloId, IsLocal: false);
            }
        }

        return new GrainLocation(silo, IsLocal: false);
    }

    private static string NodeOf(string siloId)
    {
        var dot = siloId.LastIndexOf('.');
        return dot < 0 ? siloId : siloId[..dot];
    }

    private void ForgetDeadOwners()
    {
        var local = _membership.LocalSiloId;
        foreach (var (grainId, owner) in _owners)
        {
            if (owner != local && _membership.FindMember(owner) is null)
            {
                _owners.TryRemove(new KeyValuePair<GrainId, string>(grainId, owner));
            }
        }
    }
}
