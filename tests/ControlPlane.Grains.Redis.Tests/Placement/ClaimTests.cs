using System.Text;
using ControlPlane.Testing;

namespace ControlPlane.Grains.Redis.Tests.Placement;

/// <summary>Claims by several silos, each with its own connections, against one real redis-server.</summary>
public sealed class ClaimTests(RedisConnectionFixture redis) : IClassFixture<RedisConnectionFixture>, IAsyncLifetime
{
    private readonly List<ClusterNode> _nodes = [];
    private readonly string _prefix = $"claims:{Guid.NewGuid():N}";

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var node in _nodes)
        {
            await node.DisposeAsync();
        }
    }

    private async Task<ClusterNode> NodeAsync(string name, TimeProvider? time = null)
    {
        var node = await ClusterNode.StartAsync(redis.Server.Endpoint, ClusterNode.TestOptions(_prefix, $"10.0.0.{_nodes.Count + 1}:7000"), name, time);
        _nodes.Add(node);
        return node;
    }

    private static GrainId Grain(string key) => new("counter", key);

    [Fact]
    public async Task Concurrent_claims_from_three_silos_exactly_one_wins_per_grain()
    {
        var nodes = new[] { await NodeAsync("a"), await NodeAsync("b"), await NodeAsync("c") };
        const int grains = 50;

        var claims = await Task.WhenAll(Enumerable.Range(0, grains).SelectMany(g => nodes.Select(async n =>
            (Grain: g, Node: n, Claim: await n.Directory.ClaimAsync(Grain($"g{g}"))))));

        foreach (var group in claims.GroupBy(c => c.Grain))
        {
            var winners = group.Where(c => c.Claim.Granted).ToArray();
            Assert.Single(winners);
            var winner = winners[0];
            foreach (var loser in group.Where(c => !c.Claim.Granted))
            {
                // Losers are redirected to the live owner, with its epoch.
                Assert.Equal(winner.Node.SiloId, loser.Claim.Owner!.SiloId);
                Assert.False(loser.Claim.Owner.IsLocal);
                Assert.Equal(winner.Claim.Epoch, loser.Claim.Epoch);
            }
        }
    }

    [Fact]
    public async Task Epochs_strictly_increase_across_reclaims()
    {
        var a = await NodeAsync("a");
        var b = await NodeAsync("b");
        var epochs = new List<long>();
        for (var round = 0; round < 6; round++)
        {
            var node = round % 2 == 0 ? a : b;
            var claim = await node.Directory.ClaimAsync(Grain("x"));
            Assert.True(claim.Granted);
            epochs.Add(claim.Epoch);
            await node.Directory.ReleaseAsync(Grain("x"), claim);
        }

        Assert.Equal(epochs.OrderBy(e => e).Distinct(), epochs);
    }

    [Fact]
    public async Task Locate_names_the_live_owner_after_a_redirect()
    {
        var a = await NodeAsync("a");
        var b = await NodeAsync("b");
        await WaitForMembersAsync(2, a, b);
        Assert.True((await a.Directory.ClaimAsync(Grain("owned"))).Granted);

        var redirect = await b.Directory.ClaimAsync(Grain("owned"));

        Assert.False(redirect.Granted);
        var located = await b.Directory.LocateAsync(Grain("owned"));
        Assert.Equal(a.SiloId, located.SiloId);
        Assert.False(located.IsLocal);
        Assert.True((await a.Directory.LocateAsync(Grain("owned"))).IsLocal);
        Assert.Equal("10.0.0.1:7000", b.Membership.FindMember(located.SiloId)!.Address);
    }

    [Fact]
    public async Task After_the_owner_lease_expires_another_silo_claims_higher_and_the_old_owner_is_fenced()
    {
        // The zombie's clock never moves: no heartbeat, no self-fence; a frozen process as far as it can tell.
        var zombie = await NodeAsync("zombie", new FakeTimeProvider());
        var heir = await NodeAsync("heir");
        var old = await zombie.Directory.ClaimAsync(Grain("z"));
        Assert.True(old.Granted);
        var etag = await zombie.Storage.WriteAsync(Grain("z"), Encoding.UTF8.GetBytes("before"), null, old.Epoch);

        var claim = await Eventually.ValueAsync(() => heir.Directory.ClaimAsync(Grain("z")).AsTask(), c => c.Granted, "the zombie's lease to expire");

        Assert.True(claim.Epoch > old.Epoch);
        var fenced = await Assert.ThrowsAsync<GrainFencedException>(() => zombie.Storage.WriteAsync(Grain("z"), Encoding.UTF8.GetBytes("zombie"), etag, old.Epoch).AsTask());
        Assert.Equal(old.Epoch, fenced.WriterEpoch);
        await heir.Storage.WriteAsync(Grain("z"), Encoding.UTF8.GetBytes("heir"), etag, claim.Epoch);
        Assert.Equal("heir", Encoding.UTF8.GetString((await heir.Storage.ReadAsync(Grain("z")))!.Data!.Value.Span));
    }

    [Fact]
    public async Task Only_the_current_claim_may_write_not_a_released_or_superseded_one()
    {
        var a = await NodeAsync("a");
        var first = await a.Directory.ClaimAsync(Grain("w"));
        var etag = await a.Storage.WriteAsync(Grain("w"), Encoding.UTF8.GetBytes("1"), null, first.Epoch);

        // The same silo claims again (a new activation): the old activation's epoch is fenced.
        var second = await a.Directory.ClaimAsync(Grain("w"));
        Assert.True(second.Epoch > first.Epoch);
        await Assert.ThrowsAsync<GrainFencedException>(() => a.Storage.WriteAsync(Grain("w"), Encoding.UTF8.GetBytes("old"), etag, first.Epoch).AsTask());
        etag = await a.Storage.WriteAsync(Grain("w"), Encoding.UTF8.GetBytes("2"), etag, second.Epoch);

        // Released: even the epoch that was current cannot write any more (nor clear).
        await a.Directory.ReleaseAsync(Grain("w"), second);
        await Assert.ThrowsAsync<GrainFencedException>(() => a.Storage.WriteAsync(Grain("w"), Encoding.UTF8.GetBytes("late"), etag, second.Epoch).AsTask());
        await Assert.ThrowsAsync<GrainFencedException>(() => a.Storage.ClearAsync(Grain("w"), etag, second.Epoch).AsTask());
        Assert.Equal("2", Encoding.UTF8.GetString((await a.Storage.ReadAsync(Grain("w")))!.Data!.Value.Span));

        // A stale release (older epoch) leaves a newer claim alone.
        var third = await a.Directory.ClaimAsync(Grain("w"));
        await a.Directory.ReleaseAsync(Grain("w"), first);
        await a.Storage.WriteAsync(Grain("w"), Encoding.UTF8.GetBytes("3"), etag, third.Epoch);
    }

    [Fact]
    public async Task Placement_follows_rendezvous_over_the_live_members_on_every_silo()
    {
        var nodes = new[] { await NodeAsync("a"), await NodeAsync("b"), await NodeAsync("c") };
        await WaitForMembersAsync(3, nodes);

        for (var i = 0; i < 100; i++)
        {
            var locations = await Task.WhenAll(nodes.Select(n => n.Directory.LocateAsync(Grain($"p{i}")).AsTask()));
            Assert.Single(locations.Select(l => l.SiloId).Distinct());
            Assert.Single(locations, l => l.IsLocal);
        }
    }

    internal static Task WaitForMembersAsync(int count, params ClusterNode[] nodes) =>
        Eventually.TrueAsync(() => nodes.All(n => n.Membership.Members.Count == count), $"{count} members in every view");
}
