using System.Text;
using ControlPlane.Grains.Placement;
using ControlPlane.Testing;
using ControlPlane.Testing.Redis;

namespace ControlPlane.Grains.Redis.Tests.Durability;

/// <summary>Redis restarts under a running cluster: with its AOF (epochs never go back) and empty (a new incarnation;
/// no write from the old one succeeds). Each test owns its server.</summary>
public sealed class RedisRestartTests : IAsyncLifetime
{
    private readonly List<ClusterNode> _nodes = [];
    private RedisServerFixture _server = null!;

    public async Task InitializeAsync() =>
        _server = await RedisServerFixture.StartNewAsync(new RedisServerOptions { AppendOnly = true, AppendFsync = "always" });

    public async Task DisposeAsync()
    {
        foreach (var node in _nodes)
        {
            await node.DisposeAsync();
        }

        await _server.DisposeAsync();
    }

    private async Task<ClusterNode> NodeAsync(string name, TimeProvider? time = null)
    {
        // A lease far longer than the test: what is under test is the restart, not expiry, and a frozen-clock node
        // must not lose its lease to a slow moment of a busy machine before the restart happens.
        var options = ClusterNode.TestOptions("restart");
        options.LeaseDuration = TimeSpan.FromSeconds(10);
        var node = await ClusterNode.StartAsync(_server.Endpoint, options, name, time);
        _nodes.Add(node);
        return node;
    }

    private static GrainId Grain(string key) => new("counter", key);

    private static async Task<GrainClaim> ClaimWhenServingAsync(ClusterNode node, GrainId grain)
    {
        var claim = await Eventually.ValueAsync(
            async () =>
            {
                try
                {
                    return node.Membership.IsServing ? await node.Directory.ClaimAsync(grain) : null;
                }
                catch (Exception error) when (error is GrainException or ControlPlane.Redis.RedisException)
                {
                    return null;
                }
            },
            claim => claim is { Granted: true },
            "a granted claim after the restart");
        return claim!;
    }

    [Fact]
    public async Task Epochs_never_go_back_across_a_crash_and_restart_with_the_aof()
    {
        var node = await NodeAsync("durable");
        var incarnation = node.Membership.Incarnation;
        for (var i = 0; i < 4; i++)
        {
            await node.Directory.ReleaseAsync(Grain("d"), await node.Directory.ClaimAsync(Grain("d")));
        }

        // Only the holder of the current claim may write (a released claim is fenced).
        var last = await node.Directory.ClaimAsync(Grain("d"));
        var etag = await node.Storage.WriteAsync(Grain("d"), Encoding.UTF8.GetBytes("kept"), null, last.Epoch);
        await _server.RestartAsync(keepData: true);

        var next = await ClaimWhenServingAsync(node, Grain("d"));
        Assert.True(next.Epoch > last.Epoch);
        Assert.Equal(incarnation, node.Membership.Incarnation);
        var read = await node.Storage.ReadAsync(Grain("d"));
        Assert.Equal("kept", Encoding.UTF8.GetString(read!.Data!.Value.Span));
        Assert.Equal(etag, read.ETag);
        Assert.Equal(last.Epoch, read.Epoch);
    }

    [Fact]
    public async Task Redis_restarted_empty_means_a_new_incarnation_and_no_stale_write_succeeds()
    {
        // The zombie never heartbeats (frozen clock): it still believes in the old incarnation and its claim.
        var zombie = await NodeAsync("zombie", new FakeTimeProvider());
        var live = await NodeAsync("live");
        var voided = 0;
        live.Membership.ClaimsVoided += (_, _) => Interlocked.Increment(ref voided);
        var oldIncarnation = live.Membership.Incarnation;
        Assert.Equal(oldIncarnation, zombie.Membership.Incarnation);
        var zombieClaim = await zombie.Directory.ClaimAsync(Grain("z"));
        var liveClaim = await live.Directory.ClaimAsync(Grain("l"));
        var zombieEtag = await zombie.Storage.WriteAsync(Grain("z"), Encoding.UTF8.GetBytes("old"), null, zombieClaim.Epoch);

        await _server.RestartAsync(keepData: false);

        // The live silo learns from its next renewal: every claim void, a new incarnation bootstrapped by its rejoin.
        await Eventually.TrueAsync(() => live.Membership.IsServing && live.Membership.Incarnation is { } inc && inc != oldIncarnation, "the new incarnation");
        Assert.Equal(1, Volatile.Read(ref voided));

        // Nothing from the old incarnation can write: not onto missing state, not with any etag.
        await Assert.ThrowsAsync<GrainFencedException>(() => zombie.Storage.WriteAsync(Grain("z"), Encoding.UTF8.GetBytes("stale"), null, zombieClaim.Epoch).AsTask());
        await Assert.ThrowsAsync<GrainFencedException>(() => zombie.Storage.WriteAsync(Grain("z"), Encoding.UTF8.GetBytes("stale"), zombieEtag, zombieClaim.Epoch).AsTask());
        await Assert.ThrowsAsync<GrainFencedException>(() => zombie.Storage.ClearAsync(Grain("z"), null, zombieClaim.Epoch).AsTask());
        Assert.Null(await live.Storage.ReadAsync(Grain("z")));

        // Its claims are refused too, and new claims still get larger epochs than the lost data set had.
        await Assert.ThrowsAsync<GrainSiloNotServingException>(() => zombie.Directory.ClaimAsync(Grain("y")).AsTask());
        var fresh = await live.Directory.ClaimAsync(Grain("z"));
        Assert.True(fresh.Granted);
        Assert.True(fresh.Epoch > zombieClaim.Epoch);
        Assert.True(fresh.Epoch > liveClaim.Epoch);
        await live.Storage.WriteAsync(Grain("z"), Encoding.UTF8.GetBytes("new"), null, fresh.Epoch);
    }
}
