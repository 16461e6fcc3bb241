using System.IO.Hashing;
using System.Text;
using Orleans.Placement;
using Orleans.Runtime.Placement;

namespace ControlPlane.Service.Placement;

/// <summary>Places endpoint and class grains by rendezvous (highest-random-weight) hashing of the grain id over the
/// active silos, so each silo of a cluster hosts a share, and a silo joining or leaving moves only the grains that
/// hash to it (about 1/N of them). Orleans' built-in strategies do not give this: the default resource-optimized and
/// prefer-local ones put every grain on the first silo up (its routing node activates them all before the others
/// join), and hash-based placement is a modulo over the silo list, so one membership change moves most grains.
/// The silo's endpoint (not its generation) is hashed, so a restarted silo gets its share back.</summary>
[GenerateSerializer, Immutable, SuppressReferenceTracking, Alias("cp.SpreadPlacement")]
public sealed class SpreadPlacement : PlacementStrategy
{
    internal static readonly SpreadPlacement Instance = new();

    /// <summary>The silo that <paramref name="grain"/> belongs on among <paramref name="silos"/>.</summary>
    public static SiloAddress Home(GrainId grain, IReadOnlyList<SiloAddress> silos)
    {
        ArgumentNullException.ThrowIfNull(silos);
        if (silos.Count == 0)
        {
            throw new InvalidOperationException("No silo is available to place the grain on.");
        }

        var key = grain.ToString();
        SiloAddress best = silos[0];
        ulong bestWeight = 0;
        for (var i = 0; i < silos.Count; i++)
        {
            var weight = XxHash64.HashToUInt64(Encoding.UTF8.GetBytes($"{key}|{silos[i].Endpoint}"));
            if (i == 0 || weight > bestWeight || (weight == bestWeight && string.CompareOrdinal(silos[i].ToString(), best.ToString()) < 0))
            {
                best = silos[i];
                bestWeight = weight;
            }
        }

        return best;
    }
}

/// <summary>Places a grain class with <see cref="SpreadPlacement"/>.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class SpreadPlacementAttribute : PlacementAttribute
{
    /// <summary>The attribute.</summary>
    public SpreadPlacementAttribute()
        : base(SpreadPlacement.Instance)
    {
    }
}

/// <summary>The director: the grain's home among the silos compatible with it.</summary>
internal sealed class SpreadPlacementDirector : IPlacementDirector
{
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context) =>
        Task.FromResult(SpreadPlacement.Home(target.GrainIdentity, context.GetCompatibleSilos(target)));
}

/// <summary>Moves a grain to its home when the cluster changed since it was placed (a silo joined): a grain checks on
/// its own timer and, when it is not at home, migrates once idle (Orleans live migration: its persistent state and
/// its subscribers travel with it, so no push is lost and nothing is reloaded).</summary>
internal sealed class GrainHome(IClusterMembershipService membership, ILocalSiloDetails local)
{
    /// <summary>True when the grain should move: another active silo is its home.</summary>
    public bool IsAway(GrainId grain)
    {
        var active = membership.CurrentSnapshot.Members.Values.Where(m => m.Status == SiloStatus.Active).Select(m => m.SiloAddress).ToList();
        return active.Count > 1 && !SpreadPlacement.Home(grain, active).Equals(local.SiloAddress);
    }
}
