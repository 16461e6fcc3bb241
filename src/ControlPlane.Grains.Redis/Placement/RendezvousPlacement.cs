using ControlPlane.Grains.Placement;

namespace ControlPlane.Grains.Redis.Placement;

/// <summary>Rendezvous (highest random weight) hashing: each grain goes to the member with the highest
/// <c>hash(siloId, grainId)</c>. Removing a member moves only its grains; adding one moves about 1/(N+1) of them, all
/// to the newcomer. Placement is a hint: the claim decides who owns a grain.</summary>
internal static class RendezvousPlacement
{
    /// <summary>The member <paramref name="grainId"/> belongs on, or null when there are no members.</summary>
    public static ClusterMember? Pick(GrainId grainId, IReadOnlyList<ClusterMember> members)
    {
        ClusterMember? best = null;
        var bestScore = 0UL;
        foreach (var member in members)
        {
            var score = Score(member.SiloId, grainId);
            if (best is null || score > bestScore || (score == bestScore && string.CompareOrdinal(member.SiloId, best.SiloId) < 0))
            {
                best = member;
                bestScore = score;
            }
        }

        return best;
    }

    /// <summary>The weight of <paramref name="siloId"/> for <paramref name="grainId"/>.</summary>
    public static ulong Score(string siloId, GrainId grainId)
    {
        var h = StableHash.Append(StableHash.OffsetBasis, siloId);
        h = StableHash.Separator(h);
        h = StableHash.Append(h, grainId.Type);
        h = StableHash.Separator(h);
        h = StableHash.Append(h, grainId.Key);
        return StableHash.Mix(h);
    }
}
