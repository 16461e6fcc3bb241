using ControlPlane.Grains.Placement;
using ControlPlane.Grains.Redis.Placement;
using FsCheck;
using FsCheck.Fluent;

namespace ControlPlane.Grains.Redis.Tests.Placement;

/// <summary>Rendezvous hashing keeps placement stable as members come and go.</summary>
public sealed class RendezvousPlacementTests
{
    private const int Grains = 2000;
    private static readonly Config Runs = Config.QuickThrowOnFailure.WithMaxTest(60);

    /// <summary>A random cluster: 2 to 12 members with random ids, and which one leaves.</summary>
    private sealed record Cluster(string[] SiloIds, int Leaving);

    private static readonly Arbitrary<Cluster> Clusters = Arb.From(
        from size in Gen.Choose(2, 12)
        from seeds in Gen.ArrayOf(Gen.Choose(0, int.MaxValue), size)
        from leaving in Gen.Choose(0, size - 1)
        select new Cluster([.. seeds.Select((s, i) => $"node-{i}.{s:x8}")], leaving));

    private static ClusterMember[] Members(IEnumerable<string> ids) =>
        [.. ids.Select(id => new ClusterMember(id, "127.0.0.1:1", DateTimeOffset.UnixEpoch))];

    private static GrainId Grain(int i) => new("endpoint", $"ep-{i}");

    [Fact]
    public void Removing_a_member_moves_only_its_grains()
    {
        Check.One(Runs, Prop.ForAll(Clusters, cluster =>
        {
            var all = Members(cluster.SiloIds);
            var gone = all[cluster.Leaving];
            var rest = all.Where(m => m != gone).ToArray();
            for (var i = 0; i < Grains; i++)
            {
                var before = RendezvousPlacement.Pick(Grain(i), all)!;
                var after = RendezvousPlacement.Pick(Grain(i), rest)!;
                if (before != gone && before != after)
                {
                    return false;
                }
            }

            return true;
        }));
    }

    [Fact]
    public void Adding_a_member_moves_about_one_in_n_plus_one_grains_all_to_the_newcomer()
    {
        Check.One(Runs, Prop.ForAll(Clusters, cluster =>
        {
            var newcomer = new ClusterMember("newcomer." + cluster.SiloIds.Length, "127.0.0.1:1", DateTimeOffset.UnixEpoch);
            var before = Members(cluster.SiloIds);
            ClusterMember[] after = [.. before, newcomer];
            var moved = 0;
            for (var i = 0; i < Grains; i++)
            {
                var was = RendezvousPlacement.Pick(Grain(i), before)!;
                var now = RendezvousPlacement.Pick(Grain(i), after)!;
                if (was != now)
                {
                    if (now != newcomer)
                    {
                        return false;
                    }

                    moved++;
                }
            }

            // Binomial(2000, 1/(N+1)): a ±40 % band is more than 4 standard deviations even for N+1 = 13.
            var expected = Grains / (double)after.Length;
            return Math.Abs(moved - expected) < 0.4 * expected;
        }));
    }

    [Fact]
    public void Grains_spread_evenly_and_placement_is_order_independent()
    {
        var members = Members(Enumerable.Range(0, 5).Select(i => $"silo-{i}.0000000{i}"));
        var reversed = members.Reverse().ToArray();
        var counts = new Dictionary<string, int>();
        for (var i = 0; i < 10_000; i++)
        {
            var pick = RendezvousPlacement.Pick(Grain(i), members)!;
            Assert.Equal(pick, RendezvousPlacement.Pick(Grain(i), reversed));
            counts[pick.SiloId] = counts.GetValueOrDefault(pick.SiloId) + 1;
        }

        Assert.Equal(5, counts.Count);
        Assert.All(counts.Values, c => Assert.InRange(c, 1700, 2300));
    }

    [Fact]
    public void The_hash_is_fnv1a_64_over_utf16_with_a_pinned_result()
    {
        // FNV-1a 64 reference value for "a"; our strings hash as UTF-16 code units (low byte, high byte).
        Assert.Equal(0xaf63dc4c8601ec8cUL, FnvOfBytes([0x61]));
        Assert.Equal(FnvOfBytes([0x61, 0x00]), StableHash.Append(StableHash.OffsetBasis, "a"));

        // Pinned: a change to the hash would silently reshuffle every grain during a rolling upgrade.
        Assert.Equal(PinnedScore, RendezvousPlacement.Score("silo-a.0001", new GrainId("endpoint", "ep-1")));
        Assert.NotEqual(RendezvousPlacement.Score("ab", new GrainId("c", "k")), RendezvousPlacement.Score("a", new GrainId("bc", "k")));
        Assert.Null(RendezvousPlacement.Pick(Grain(1), []));
    }

    private const ulong PinnedScore = 6019478527662097233UL;

    private static ulong FnvOfBytes(byte[] bytes)
    {
        var h = StableHash.OffsetBasis;
        foreach (var b in bytes)
        {
            h = (h ^ b) * StableHash.Prime;
        }

        return h;
    }
}
