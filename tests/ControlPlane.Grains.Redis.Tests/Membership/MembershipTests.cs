using ControlPlane.Grains.Redis.Membership;
using ControlPlane.Redis;
using ControlPlane.Testing;
using ControlPlane.Testing.Redis;
using Microsoft.Extensions.Options;

namespace ControlPlane.Grains.Redis.Tests.Membership;

/// <summary>Leases, views and notices against a shared real redis-server.</summary>
public sealed class MembershipTests(RedisConnectionFixture redis) : IClassFixture<RedisConnectionFixture>, IAsyncLifetime
{
    private readonly List<ClusterNode> _nodes = [];
    private readonly string _prefix = $"members:{Guid.NewGuid():N}";

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var node in _nodes)
        {
            await node.DisposeAsync();
        }
    }

    private async Task<ClusterNode> NodeAsync(string name, TimeProvider? time = null, Random? random = null)
    {
        var node = await ClusterNode.StartAsync(redis.Server.Endpoint, ClusterNode.TestOptions(_prefix, $"10.0.0.{_nodes.Count + 1}:7000"), name, time, random: random);
        _nodes.Add(node);
        return node;
    }

    [Fact]
    public async Task Join_and_leave_bump_the_view_and_reach_other_silos_by_pub_sub()
    {
        // The watcher's clock never moves, so it never polls: only pub/sub notices can change its view.
        var watcher = await NodeAsync("watcher", new FakeTimeProvider());
        var changes = 0;
        watcher.Membership.Changed += (_, _) => Interlocked.Increment(ref changes);
        var viewAtStart = watcher.Membership.ViewVersion;
        Assert.Equal([watcher.SiloId], watcher.Membership.Members.Select(m => m.SiloId));

        var joiner = await NodeAsync("joiner");
        await Eventually.TrueAsync(() => watcher.Membership.FindMember(joiner.SiloId) is not null, "the watcher to see the joiner");
        Assert.True(watcher.Membership.ViewVersion > viewAtStart);
        var member = watcher.Membership.FindMember(joiner.SiloId)!;
        Assert.Equal("10.0.0.2:7000", member.Address);
        Assert.True(member.StartedAt > DateTimeOffset.UnixEpoch);
        var viewAfterJoin = watcher.Membership.ViewVersion;

        await joiner.Membership.LeaveAsync();
        await Eventually.TrueAsync(() => watcher.Membership.FindMember(joiner.SiloId) is null, "the watcher to see the leave");
        Assert.True(watcher.Membership.ViewVersion > viewAfterJoin);
        Assert.True(Volatile.Read(ref changes) >= 2);
    }

    [Fact]
    public async Task Silo_ids_are_fresh_on_every_join_and_carry_the_node_name()
    {
        var a = await NodeAsync("alpha");
        var b = await NodeAsync("alpha");

        Assert.StartsWith("alpha.", a.SiloId, StringComparison.Ordinal);
        Assert.NotEqual(a.SiloId, b.SiloId);
        await ClaimTestsSupport.WaitForMembersAsync(2, a, b);
    }

    [Fact]
    public async Task A_silo_id_that_is_still_registered_is_refused()
    {
        await NodeAsync("twin", random: new Random(7));

        var error = await Assert.ThrowsAsync<RedisServerException>(() => NodeAsync("twin", random: new Random(7)));
        Assert.Equal("DUPLICATE", error.Prefix);
    }

    [Fact]
    public async Task An_expired_lease_is_never_renewed_and_the_silo_rejoins_under_a_new_id()
    {
        var time = new FakeTimeProvider();
        var node = await NodeAsync("sleeper", time);
        var observer = await NodeAsync("observer");
        var voided = 0;
        node.Membership.ClaimsVoided += (_, _) => Interlocked.Increment(ref voided);
        var firstId = node.SiloId;

        // Its clock is frozen, so it does not renew; Redis expires the lease, the observer prunes it from the view.
        await Eventually.TrueAsync(() => observer.Membership.FindMember(firstId) is null && observer.Membership.Members.Count == 1, "the lease to expire");
        Assert.True(node.Membership.IsServing);

        // Next heartbeat: the renewal script finds no lease key and refuses (no resurrection).
        time.Advance(TimeSpan.FromMilliseconds(100));
        await Eventually.TrueAsync(() => Volatile.Read(ref voided) == 1, "the silo to learn its lease is gone");
        Assert.False(node.Membership.IsServing);

        // The heartbeat after that joins again, under a new id.
        time.Advance(TimeSpan.FromMilliseconds(100));
        await Eventually.TrueAsync(() => node.Membership.IsServing, "the rejoin");
        Assert.NotEqual(firstId, node.SiloId);
        Assert.StartsWith("sleeper.", node.SiloId, StringComparison.Ordinal);
        await Eventually.TrueAsync(() => observer.Membership.FindMember(node.SiloId) is not null, "the observer to see the new id");
        Assert.Null(observer.Membership.FindMember(firstId));
    }

    [Fact]
    public async Task The_renewal_script_refuses_a_missing_lease()
    {
        var node = await NodeAsync("n");
        var keys = node.Membership.Keys;
        var identity = node.Membership.Identity!;
        await redis.Connection.DeleteAsync(keys.Lease(identity.SiloId));

        var error = await Assert.ThrowsAsync<RedisServerException>(() => redis.Connection.EvaluateAsync(
            ClusterScripts.Heartbeat,
            [keys.Incarnation, keys.Members, keys.View],
            [identity.Incarnation, identity.SiloId, 1000, keys.LeasePrefix, keys.ViewChannel, -1]));
        Assert.Equal("GONE", error.Prefix);
        Assert.False(await redis.Connection.ExistsAsync(keys.Lease(identity.SiloId)));
    }

    [Theory]
    [InlineData("", "127.0.0.1:1", 100, 1000)]
    [InlineData("a{b}", "127.0.0.1:1", 100, 1000)]
    [InlineData("p", "", 100, 1000)]
    [InlineData("p", "no-port", 100, 1000)]
    [InlineData("p", "h:70000", 100, 1000)]
    [InlineData("p", "127.0.0.1:1", 5, 1000)]
    [InlineData("p", "127.0.0.1:1", 300, 1000)]
    public void Invalid_options_are_refused(string prefix, string address, int heartbeatMs, int leaseMs)
    {
        var options = new RedisClusterOptions
        {
            KeyPrefix = prefix,
            SiloAddress = address,
            HeartbeatInterval = TimeSpan.FromMilliseconds(heartbeatMs),
            LeaseDuration = TimeSpan.FromMilliseconds(leaseMs),
        };

        Assert.Throws<OptionsValidationException>(() => new RedisClusterMembership(redis.Connection, null, options));
    }

    [Fact]
    public void Defaults_are_one_second_heartbeat_and_ten_second_lease()
    {
        var options = new RedisClusterOptions { SiloAddress = "10.1.2.3:5001" };

        Assert.Equal(TimeSpan.FromSeconds(1), options.HeartbeatInterval);
        Assert.Equal(TimeSpan.FromSeconds(10), options.LeaseDuration);
        Assert.Equal(TimeSpan.FromSeconds(8), options.SelfFenceAfter);
        Assert.True(new RedisClusterOptionsValidator().Validate(null, options).Succeeded);
    }
}

/// <summary>Self-fencing when Redis stops answering; each test owns its server (it pauses or kills it).</summary>
public sealed class SelfFenceTests : IAsyncLifetime
{
    private RedisServerFixture _server = null!;
    private ClusterNode _node = null!;
    private readonly FakeTimeProvider _time = new();
    private int _voided;

    public async Task InitializeAsync()
    {
        _server = await RedisServerFixture.StartNewAsync();
        // Default lease (1 s heartbeat, 10 s lease): the node's clock moves only when the test says, so a short lease
        // could expire on Redis' real clock while the test sets up on a busy machine.
        _node = await ClusterNode.StartAsync(_server.Endpoint, new RedisClusterOptions { KeyPrefix = "fence", SiloAddress = "127.0.0.1:1" }, "fenced", _time);
        _node.Membership.ClaimsVoided += (_, _) => Interlocked.Increment(ref _voided);
    }

    public async Task DisposeAsync()
    {
        if (_server.IsRunning)
        {
            _server.Resume();
        }

        await _node.DisposeAsync();
        await _server.DisposeAsync();
    }

    private async Task StepAsync(int steps)
    {
        for (var i = 0; i < steps; i++)
        {
            _time.Advance(TimeSpan.FromMilliseconds(500));
            await Task.Delay(5);
        }
    }

    private Task AdvanceUntilAsync(Func<bool> condition, string what) =>
        Eventually.TrueAsync(
            () =>
            {
                _time.Advance(TimeSpan.FromMilliseconds(250));
                return condition();
            },
            what);

    [Fact]
    public async Task A_paused_redis_makes_the_silo_self_fence_before_its_lease_can_expire()
    {
        await StepAsync(4);
        await Eventually.TrueAsync(() => _node.Membership.IsServing, "renewals while Redis answers");
        _server.Pause();
        var pausedAt = _time.GetTimestamp();

        // Fenced at lease - 2 heartbeats (8 s) after the last good renewal started, which is before the pause: so
        // strictly less than a lease after the pause, and the claims are not void yet.
        await AdvanceUntilAsync(() => !_node.Membership.IsServing, "the self-fence");
        Assert.InRange(_time.GetElapsedTime(pausedAt), TimeSpan.FromSeconds(6), TimeSpan.FromSeconds(8.5));
        Assert.Equal(0, Volatile.Read(ref _voided));

        // A whole lease without renewal: the claims are void for sure.
        await AdvanceUntilAsync(() => Volatile.Read(ref _voided) == 1, "the claims to be voided");
        Assert.InRange(_time.GetElapsedTime(pausedAt), TimeSpan.FromSeconds(8), TimeSpan.FromSeconds(10.5));
        var lostId = _node.SiloId;

        _server.Resume();
        await AdvanceUntilAsync(() => _node.Membership.IsServing, "the rejoin after Redis answers again");
        Assert.NotEqual(lostId, _node.SiloId);
    }

    [Fact]
    public async Task An_unreachable_redis_makes_the_silo_self_fence()
    {
        await StepAsync(4);
        await Eventually.TrueAsync(() => _node.Membership.IsServing, "renewals while Redis answers");
        await _server.StopAsync();
        var stoppedAt = _time.GetTimestamp();

        await AdvanceUntilAsync(() => !_node.Membership.IsServing, "the self-fence");
        Assert.InRange(_time.GetElapsedTime(stoppedAt), TimeSpan.FromSeconds(6), TimeSpan.FromSeconds(8.5));
        Assert.Equal(0, Volatile.Read(ref _voided));
    }
}

internal static class ClaimTestsSupport
{
    public static Task WaitForMembersAsync(int count, params ClusterNode[] nodes) =>
        Eventually.TrueAsync(() => nodes.All(n => n.Membership.Members.Count == count), $"{count} members in every view");
}
