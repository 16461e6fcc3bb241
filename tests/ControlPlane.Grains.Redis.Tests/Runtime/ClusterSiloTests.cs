using System.Text;
using ControlPlane.Grains.Redis.Membership;
using ControlPlane.Grains.Redis.Placement;
using ControlPlane.Grains.Tests.TestGrains;
using ControlPlane.Redis;
using ControlPlane.Testing;
using ControlPlane.Testing.Redis;
using Microsoft.Extensions.DependencyInjection;

namespace ControlPlane.Grains.Redis.Tests.Runtime;

/// <summary>Whole silos built with <c>UseRedisClustering</c>, running the shared test grains against a real redis-server.</summary>
public sealed class ClusterSiloTests : IAsyncLifetime
{
    private readonly List<IAsyncDisposable> _owned = [];
    private readonly string _prefix = $"silo:{Guid.NewGuid():N}";
    private RedisServerFixture _server = null!;

    public async Task InitializeAsync() => _server = await RedisServerFixture.StartNewAsync();

    public async Task DisposeAsync()
    {
        if (_server.IsRunning)
        {
            _server.Resume();
        }

        for (var i = _owned.Count - 1; i >= 0; i--)
        {
            await _owned[i].DisposeAsync();
        }

        await _server.DisposeAsync();
    }

    private RedisOptions RedisOptions => new() { Endpoint = _server.Endpoint, CommandTimeout = TimeSpan.FromSeconds(2) };

    /// <summary>A silo over its own connections (real time for Redis, <paramref name="fakeTime"/> for the silo's clock).</summary>
    private async Task<TestHost> SiloAsync(bool fakeTime = false, RedisClusterOptions? clusterOptions = null)
    {
        var redis = await RedisClient.ConnectAsync(RedisOptions);
        var subscriber = await RedisClient.ConnectSubscriberAsync(RedisOptions);
        _owned.Add(redis);
        _owned.Add(subscriber);
        var options = clusterOptions ?? ClusterNode.TestOptions(_prefix, "127.0.0.1:7001");
        var host = await TestHost.StartAsync(fakeTime: fakeTime, configure: b =>
        {
            b.Services.AddSingleton(redis).AddSingleton(subscriber);

            // Registered ahead of UseRedisClustering (which only adds one if none is there) so the test can watch it.
            b.Services.AddSingleton(sp => _memberships[sp.GetRequiredService<TimeProvider>()] = new RedisClusterMembership(
                redis, subscriber, options, "silo", sp.GetRequiredService<TimeProvider>(), new Random(_memberships.Count + 1)));
            b.UseRedisClustering(o =>
            {
                o.KeyPrefix = options.KeyPrefix;
                o.SiloAddress = options.SiloAddress;
                o.HeartbeatInterval = options.HeartbeatInterval;
                o.LeaseDuration = options.LeaseDuration;
            });
        });
        _owned.Add(host);
        _hosts[host] = _memberships.Values.Last();
        return host;
    }

    private readonly Dictionary<TimeProvider, RedisClusterMembership> _memberships = [];
    private readonly Dictionary<TestHost, RedisClusterMembership> _hosts = [];

    private RedisClusterMembership MembershipOf(TestHost host) => _hosts[host];

    private async Task<ClusterNode> NodeAsync(string name)
    {
        // A longer lease than the silos under test: this node watches or inherits, and must not self-fence when a
        // busy machine delays its heartbeats (that is not what these tests are about).
        var options = ClusterNode.TestOptions(_prefix);
        options.LeaseDuration = TimeSpan.FromSeconds(5);
        var node = await ClusterNode.StartAsync(_server.Endpoint, options, name);
        _owned.Add(node);
        return node;
    }

    [Fact]
    public async Task UseRedisClustering_on_its_own_connections_joins_serves_and_leaves()
    {
        var builder = new GrainSiloBuilder()
            .Configure(o => o.SiloId = "own")
            .AddGrain<ICounterGrain, CounterGrain>()
            .UseRedisClustering(o =>
            {
                o.Redis = RedisOptions;
                o.KeyPrefix = _prefix;
                o.SiloAddress = "127.0.0.1:7009";
                o.HeartbeatInterval = TimeSpan.FromMilliseconds(100);
                o.LeaseDuration = TimeSpan.FromSeconds(1);
            });
        builder.Services.AddSingleton(new LifecycleProbe());
        var silo = builder.Build();
        await silo.StartAsync();

        // Alone in the cluster, so the grain is placed here (there is no call transport in this test).
        Assert.Equal(1, await silo.GrainFactory.GetGrain<ICounterGrain>("c").IncrementAsync());
        var watcher = await NodeAsync("watcher");
        await Eventually.TrueAsync(() => watcher.Membership.Members.Any(m => m.Address == "127.0.0.1:7009"), "the silo to join");
        Assert.StartsWith("own.", watcher.Membership.Members.Single(m => m.Address == "127.0.0.1:7009").SiloId, StringComparison.Ordinal);

        await silo.DisposeAsync();
        await Eventually.TrueAsync(() => watcher.Membership.Members.All(m => m.Address != "127.0.0.1:7009"), "the silo to leave");
    }

    [Fact]
    public void UseRedisClustering_refuses_invalid_options_when_the_silo_is_built()
    {
        var builder = new GrainSiloBuilder().UseRedisClustering(o => o.SiloAddress = "missing-port");

        Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(() => builder.Build());
    }

    [Fact]
    public async Task Corrupt_state_bytes_in_redis_fail_activation_clearly_and_spare_other_grains()
    {
        await _server.CliAsync("HSET", $"{_prefix}:grain:{{counter/broken}}", "data", "{ not json", "etag", "1", "state_epoch", "0");
        await _server.CliAsync("HSET", $"{_prefix}:grain:{{counter/fine}}", "data", """{"value":41}""", "etag", "1", "state_epoch", "0");
        var host = await SiloAsync();
        var broken = host.Grains.GetGrain<ICounterGrain>("broken");

        var error = await Assert.ThrowsAsync<GrainStateCorruptException>(() => broken.IncrementAsync());
        Assert.Equal(new GrainId("counter", "broken"), error.GrainId);
        Assert.Equal(typeof(CounterState), error.StateType);
        Assert.Equal(0, host.Probe.Activations("broken"));

        Assert.Equal(42, await host.Grains.GetGrain<ICounterGrain>("fine").IncrementAsync());
        await Assert.ThrowsAsync<GrainStateCorruptException>(() => broken.GetAsync());

        // The bytes are left for repair, and the failed activation gave its claim back.
        Assert.Equal("{ not json", await _server.CliAsync("HGET", $"{_prefix}:grain:{{counter/broken}}", "data"));
        Assert.Equal("0", await _server.CliAsync("HEXISTS", $"{_prefix}:grain:{{counter/broken}}", "owner"));
    }

    [Fact]
    public async Task State_survives_deactivation_and_the_next_activation_claims_a_higher_epoch()
    {
        var host = await SiloAsync();
        var counter = host.Grains.GetGrain<ICounterGrain>("kept");
        await counter.IncrementAsync();
        await counter.IncrementAsync();
        await counter.SaveAsync();
        var firstEpoch = long.Parse(await _server.CliAsync("HGET", $"{_prefix}:grain:{{counter/kept}}", "state_epoch"), System.Globalization.CultureInfo.InvariantCulture);

        await counter.DeactivateSoonAsync();
        await Eventually.TrueAsync(() => host.Silo.ActivationCount == 0, "the deactivation");

        Assert.Equal(3, await counter.IncrementAsync());
        await counter.SaveAsync();
        var secondEpoch = long.Parse(await _server.CliAsync("HGET", $"{_prefix}:grain:{{counter/kept}}", "state_epoch"), System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(secondEpoch > firstEpoch);
    }

    [Fact]
    public async Task A_fenced_write_deactivates_the_zombie_activation_at_once()
    {
        var heir = await NodeAsync("heir");
        var zombie = await SiloAsync(fakeTime: true);
        var zombieId = MembershipOf(zombie).LocalSiloId;
        var key = Enumerable.Range(0, 1000).Select(i => $"k{i}").First(k =>
            RendezvousPlacement.Pick(new GrainId("counter", k), [
                new(zombieId, "a:1", DateTimeOffset.UnixEpoch),
                new(heir.SiloId, "b:1", DateTimeOffset.UnixEpoch),
            ])!.SiloId == zombieId);
        var counter = zombie.Grains.GetGrain<ICounterGrain>(key);
        await counter.IncrementAsync();
        await counter.SaveAsync();

        // The zombie's clock is frozen: it never renews; once Redis expired its lease the heir takes the grain.
        var claim = await Eventually.ValueAsync(() => heir.Directory.ClaimAsync(new GrainId("counter", key)).AsTask(), c => c.Granted, "the zombie's lease to expire");

        await Assert.ThrowsAsync<GrainFencedException>(() => counter.SaveAsync().AsTask());
        await Eventually.TrueAsync(() => zombie.Silo.ActivationCount == 0, "the fenced activation to leave");
        var stored = await heir.Storage.ReadAsync(new GrainId("counter", key));
        Assert.True(claim.Epoch > stored!.Epoch);
        Assert.Equal("""{"value":1}""", Encoding.UTF8.GetString(stored.Data!.Value.Span));
    }

    [Fact]
    public async Task A_self_fenced_silo_refuses_turns_and_a_lost_lease_deactivates_everything()
    {
        // Default lease (1 s heartbeat, 10 s lease): the silo's clock only moves when the test says, so a short lease
        // could expire on Redis' real clock while the test sets up on a busy machine.
        var host = await SiloAsync(fakeTime: true, new RedisClusterOptions { KeyPrefix = _prefix, SiloAddress = "127.0.0.1:7001" });
        var time = host.Time!;
        var membership = MembershipOf(host);
        var first = host.Grains.GetGrain<ICounterGrain>("one");
        var second = host.Grains.GetGrain<ICounterGrain>("two");
        Assert.Equal(1, await first.IncrementAsync());
        await first.SaveAsync();
        await second.IncrementAsync();
        Assert.Equal(2, host.Silo.ActivationCount);
        var firstId = membership.LocalSiloId;

        _server.Pause();
        for (var i = 0; i < 34; i++)
        {
            time.Advance(TimeSpan.FromMilliseconds(250));
            await Task.Delay(5);
        }

        await Eventually.TrueAsync(() => !membership.IsServing, "the self-fence");
        var refused = await Assert.ThrowsAsync<GrainSiloNotServingException>(() => first.GetAsync());
        Assert.Equal(firstId, refused.SiloId);
        Assert.Equal(2, host.Silo.ActivationCount);

        // A whole lease without renewal: every claim is void, every activation goes (their last writes are fenced).
        for (var i = 0; i < 7; i++)
        {
            time.Advance(TimeSpan.FromMilliseconds(250));
            await Task.Delay(5);
        }

        _server.Resume();
        await Eventually.TrueAsync(() => host.Silo.ActivationCount == 0, "every activation to be deactivated");

        // Redis answers again: the silo rejoins under a new id and activates the grain from the last accepted state.
        await Eventually.TrueAsync(
            () =>
            {
                time.Advance(TimeSpan.FromMilliseconds(250));
                return membership.IsServing;
            },
            "the rejoin");
        Assert.NotEqual(firstId, membership.LocalSiloId);
        Assert.Equal(2, await first.IncrementAsync());
    }
}
