using System.Diagnostics;
using ControlPlane.Server.Cluster;
using ControlPlane.Testing;
using Microsoft.Extensions.Time.Testing;
using ControlPlane.Testing.Redis;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace ControlPlane.Server.Cluster.Tests;

/// <summary>The incarnation watchdog against a real redis-server that is flushed, restarted (with and without AOF),
/// stopped and paused. Each test owns its server; "a node" is a watchdog with its own multiplexer.</summary>
public sealed class IncarnationWatchdogTests
{
    private const string ServiceId = "cp";
    private const string ClusterId = "test";
    private const int UnreachableEventId = 4;
    private const int LostEventId = 6;

    private static readonly string IncarnationKey = IncarnationWatchdogOptions.DefaultIncarnationKey(ServiceId, ClusterId);
    private static readonly string MembershipKey = IncarnationWatchdogOptions.DefaultMembershipKey(ServiceId, ClusterId);
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task The_first_node_founds_the_incarnation_and_the_second_adopts_it()
    {
        await using var redis = await RedisServerFixture.StartNewAsync();
        await using var first = await Node.StartAsync(redis);
        await using var second = await Node.StartAsync(redis);

        var founded = await first.Watchdog.JoinAsync();
        var adopted = await second.Watchdog.JoinAsync();

        Assert.True(first.Watchdog.IsFounder);
        Assert.False(second.Watchdog.IsFounder);
        Assert.Equal(founded, adopted);
        Assert.Equal(founded, second.Watchdog.Incarnation);
        Assert.Equal(founded, await redis.CliAsync("GET", IncarnationKey));

        var joined = DateTimeOffset.UtcNow;
        await Eventually(() => first.Watchdog.LastConfirmed > joined && second.Watchdog.LastConfirmed > joined, "both nodes confirm their incarnation");
        Assert.False(first.Watchdog.IsLost);
        Assert.False(second.Watchdog.IsLost);
        Assert.False(first.Watchdog.Lost.IsCancellationRequested);
    }

    [Fact]
    public async Task Flushall_makes_both_nodes_report_the_loss_once_and_no_watchdog_sets_the_marker_again()
    {
        await using var redis = await RedisServerFixture.StartNewAsync();
        await using var first = await Node.StartAsync(redis);
        await using var second = await Node.StartAsync(redis);
        await first.Watchdog.JoinAsync();
        await second.Watchdog.JoinAsync();
        var raised = new int[2];
        using var firstRegistration = first.Watchdog.Lost.Register(() => Interlocked.Increment(ref raised[0]));
        using var secondRegistration = second.Watchdog.Lost.Register(() => Interlocked.Increment(ref raised[1]));

        await redis.CliAsync("FLUSHALL");

        var firstLoss = await first.Watchdog.IncarnationLost.WaitAsync(Patience);
        var secondLoss = await second.Watchdog.IncarnationLost.WaitAsync(Patience);
        Assert.Equal(IncarnationLossReason.MarkerMissing, firstLoss.Reason);
        Assert.Equal(IncarnationLossReason.MarkerMissing, secondLoss.Reason);
        Assert.Equal(first.Watchdog.Incarnation, firstLoss.Incarnation);

        // More checks may run (the host asks, or a check was in flight): the loss stays raised once.
        Assert.Equal(IncarnationCheckResult.Lost, await first.Watchdog.CheckAsync());
        await Task.Delay(Node.CheckPeriod * 5);
        Assert.Equal([1, 1], raised);
        Assert.Equal(1, first.Log.Count(LostEventId));
        Assert.Equal(1, second.Log.Count(LostEventId));
        Assert.Equal("0", await redis.CliAsync("EXISTS", IncarnationKey));
    }

    [Fact]
    public async Task Redis_restarted_empty_without_aof_is_a_lost_incarnation()
    {
        await using var redis = await RedisServerFixture.StartNewAsync();
        await using var node = await Node.StartAsync(redis);
        await node.Watchdog.JoinAsync();

        await redis.RestartAsync(keepData: false);

        var loss = await node.Watchdog.IncarnationLost.WaitAsync(Patience);
        Assert.Equal(IncarnationLossReason.MarkerMissing, loss.Reason);
        Assert.True(node.Watchdog.Lost.IsCancellationRequested);
    }

    [Fact]
    public async Task Redis_down_then_restarted_with_aof_is_the_same_incarnation()
    {
        await using var redis = await RedisServerFixture.StartNewAsync(new RedisServerOptions { AppendOnly = true, AppendFsync = "always" });
        await using var node = await Node.StartAsync(redis);
        var incarnation = await node.Watchdog.JoinAsync();

        await redis.StopAsync();
        await Eventually(() => node.Watchdog.ConsecutiveFailures >= 3, "checks fail while Redis is down");
        Assert.False(node.Watchdog.IsLost);

        await redis.StartAsync();
        var restarted = DateTimeOffset.UtcNow;
        await Eventually(() => node.Watchdog.LastConfirmed > restarted, "a check confirms the incarnation after the restart");
        Assert.False(node.Watchdog.IsLost);
        Assert.Equal(0, node.Watchdog.ConsecutiveFailures);
        Assert.Equal(incarnation, await redis.CliAsync("GET", IncarnationKey));
    }

    [Fact]
    public async Task Redis_paused_is_not_a_loss_last_confirmed_stops_and_checks_resume_after_sigcont()
    {
        await using var redis = await RedisServerFixture.StartNewAsync();
        await using var node = await Node.StartAsync(redis, o => o.UnreachableLogInterval = TimeSpan.FromHours(1));
        await node.Watchdog.JoinAsync();
        var joined = DateTimeOffset.UtcNow;
        await Eventually(() => node.Watchdog.LastConfirmed > joined, "a first check confirms the incarnation");

        redis.Pause();
        try
        {
            await Eventually(() => node.Watchdog.ConsecutiveFailures >= 1, "a check times out while Redis is paused");
            var frozen = node.Watchdog.LastConfirmed;
            await Eventually(() => node.Watchdog.ConsecutiveFailures >= 6, "checks keep timing out while Redis is paused");
            Assert.Equal(frozen, node.Watchdog.LastConfirmed);
            Assert.False(node.Watchdog.IsLost);
            Assert.Equal(1, node.Log.Count(UnreachableEventId));
        }
        finally
        {
            redis.Resume();
        }

        var resumed = DateTimeOffset.UtcNow;
        await Eventually(() => node.Watchdog.LastConfirmed > resumed, "checks confirm the incarnation after SIGCONT");
        Assert.False(node.Watchdog.IsLost);
        Assert.Equal(0, node.Log.Count(LostEventId));
    }

    [Fact]
    public async Task A_node_that_rejoins_after_the_loss_founds_the_new_incarnation_and_the_next_one_adopts_it()
    {
        await using var redis = await RedisServerFixture.StartNewAsync();
        await using var first = await Node.StartAsync(redis);
        var old = await first.Watchdog.JoinAsync();
        // The second node only checks when asked (its loop waits on a clock nobody advances).
        var clock = new FakeTimeProvider();
        await using var lagging = await Node.StartAsync(redis, time: clock);
        await lagging.Watchdog.JoinAsync();

        await redis.CliAsync("FLUSHALL");
        await first.Watchdog.IncarnationLost.WaitAsync(Patience);

        // The host restarts the node in-process: a new silo, a new watchdog on the shared multiplexer.
        await using var rejoined = new IncarnationWatchdog(first.Multiplexer, Node.Options(), TimeProvider.System, new RecordingLogger<IncarnationWatchdog>());
        var current = await rejoined.JoinAsync();
        Assert.True(rejoined.IsFounder);
        Assert.NotEqual(old, current);

        // A node still in the old incarnation now finds another one.
        Assert.Equal(IncarnationCheckResult.Lost, await lagging.Watchdog.CheckAsync());
        var loss = await lagging.Watchdog.IncarnationLost;
        Assert.Equal(IncarnationLossReason.MarkerChanged, loss.Reason);
        Assert.Equal(current, loss.Found);

        await using var next = new IncarnationWatchdog(lagging.Multiplexer, Node.Options(), TimeProvider.System, new RecordingLogger<IncarnationWatchdog>());
        Assert.Equal(current, await next.JoinAsync());
        Assert.False(next.IsFounder);

        var joined = DateTimeOffset.UtcNow;
        await Eventually(() => rejoined.LastConfirmed > joined && next.LastConfirmed > joined, "the new incarnation is confirmed");
        Assert.False(rejoined.IsLost);
        Assert.False(next.IsLost);
        await Assert.ThrowsAsync<InvalidOperationException>(() => rejoined.JoinAsync());
    }

    [Fact]
    public async Task Orleans_telling_a_silo_it_is_dead_raises_the_loss_once_for_a_rejoin_instead_of_ending_the_process()
    {
        await using var redis = await RedisServerFixture.StartNewAsync();
        await using var node = await Node.StartAsync(redis);
        var incarnation = await node.Watchdog.JoinAsync();
        var handler = new DeclaredDeadHandler(() => node.Watchdog, new RecordingLogger<DeclaredDeadHandler>());
        // What Orleans 10's MembershipTableManager.KillMyselfLocally passes its fatal-error handler.
        const string context = "I have been told I am dead, so this silo will stop! Reason: The membership view classifies this silo as Dead (in Refresh).";

        handler.OnFatalException(this, context, null);
        handler.OnFatalException(this, context, null);

        var loss = await node.Watchdog.IncarnationLost.WaitAsync(Patience);
        Assert.Equal((IncarnationLossReason.DeclaredDead, incarnation, context), (loss.Reason, loss.Incarnation, loss.Found));
        Assert.True(node.Watchdog.Lost.IsCancellationRequested);
        // The incarnation itself lives on: Redis still holds it for the new silo to adopt.
        Assert.Equal(incarnation, await redis.CliAsync("GET", IncarnationKey));
        Assert.True(handler.IsUnexpected(new InvalidOperationException()));
    }

    [Fact]
    public async Task The_membership_table_gone_is_a_lost_incarnation_when_watched()
    {
        await using var redis = await RedisServerFixture.StartNewAsync();
        // What Orleans' RedisMembershipTable writes first (InitializeMembershipTable).
        await redis.CliAsync("HSET", MembershipKey, "Version", "0");
        await using var node = await Node.StartAsync(redis, o => o.MembershipKey = MembershipKey);
        await node.Watchdog.JoinAsync();
        Assert.Equal(IncarnationCheckResult.Confirmed, await node.Watchdog.CheckAsync());

        await redis.CliAsync("DEL", MembershipKey);

        var loss = await node.Watchdog.IncarnationLost.WaitAsync(Patience);
        Assert.Equal(IncarnationLossReason.MembershipTableMissing, loss.Reason);
        Assert.Equal(node.Watchdog.Incarnation, await redis.CliAsync("GET", IncarnationKey));
    }

    [Fact]
    public async Task A_check_against_a_hung_redis_ends_at_its_own_timeout()
    {
        await using var redis = await RedisServerFixture.StartNewAsync();
        var clock = new FakeTimeProvider();
        // StackExchange.Redis would give up after a minute: only the watchdog's timeout can end the check.
        await using var node = await Node.StartAsync(redis, o => o.CheckTimeout = TimeSpan.FromSeconds(2), clock, asyncTimeout: TimeSpan.FromMinutes(1));
        await node.Watchdog.JoinAsync();

        redis.Pause();
        try
        {
            var check = node.Watchdog.CheckAsync();
            await Task.Delay(TimeSpan.FromMilliseconds(300));
            Assert.False(check.IsCompleted);

            clock.Advance(TimeSpan.FromSeconds(2));

            Assert.Equal(IncarnationCheckResult.Unreachable, await check.WaitAsync(Patience));
            Assert.Equal(1, node.Watchdog.ConsecutiveFailures);
            Assert.False(node.Watchdog.IsLost);
        }
        finally
        {
            redis.Resume();
        }

        Assert.Equal(IncarnationCheckResult.Confirmed, await node.Watchdog.CheckAsync().WaitAsync(Patience));
        Assert.Equal(0, node.Watchdog.ConsecutiveFailures);
    }

    [Fact]
    public async Task Join_fails_with_a_timeout_when_redis_does_not_answer()
    {
        await using var redis = await RedisServerFixture.StartNewAsync();
        await using var node = await Node.StartAsync(redis, o => o.JoinTimeout = TimeSpan.FromMilliseconds(500));
        await redis.StopAsync();

        await Assert.ThrowsAsync<TimeoutException>(() => node.Watchdog.JoinAsync().WaitAsync(Patience));
        Assert.Null(node.Watchdog.Incarnation);
        await Assert.ThrowsAsync<InvalidOperationException>(() => node.Watchdog.CheckAsync());
    }

    [Fact]
    public void Options_have_their_defaults_and_are_validated()
    {
        var defaults = new IncarnationWatchdogOptions();
        Assert.Equal(TimeSpan.FromSeconds(1), defaults.CheckPeriod);
        Assert.Null(defaults.MembershipKey);
        Assert.Equal("cp/incarnation/test", IncarnationKey);
        Assert.Equal("cp/members/test", MembershipKey);

        var validator = new IncarnationWatchdogOptionsValidator();
        Assert.True(validator.Validate(null, defaults).Failed);
        Assert.True(validator.Validate(null, new IncarnationWatchdogOptions { IncarnationKey = IncarnationKey }).Succeeded);
        Assert.True(validator.Validate(null, new IncarnationWatchdogOptions { IncarnationKey = IncarnationKey, CheckPeriod = TimeSpan.Zero }).Failed);
        Assert.True(validator.Validate(null, new IncarnationWatchdogOptions { IncarnationKey = IncarnationKey, CheckTimeout = TimeSpan.FromMinutes(5) }).Failed);
        Assert.True(validator.Validate(null, new IncarnationWatchdogOptions { IncarnationKey = IncarnationKey, MembershipKey = " " }).Failed);
        Assert.True(validator.Validate(null, new IncarnationWatchdogOptions { IncarnationKey = IncarnationKey, MembershipKey = IncarnationKey }).Failed);
    }

    [Fact]
    public async Task The_service_registration_validates_the_options_and_shares_the_multiplexer()
    {
        await using var redis = await RedisServerFixture.StartNewAsync();
        await using var multiplexer = await Node.ConnectAsync(redis, TimeSpan.FromSeconds(5));
        var services = new ServiceCollection()
            .AddLogging()
            .AddSingleton<IConnectionMultiplexer>(multiplexer)
            .AddIncarnationWatchdog(o => o.IncarnationKey = IncarnationKey);
        await using (var provider = services.BuildServiceProvider())
        {
            var watchdog = provider.GetRequiredService<IncarnationWatchdog>();
            Assert.Equal("OK", await redis.CliAsync("SET", IncarnationKey, "existing"));
            Assert.Equal("existing", await watchdog.JoinAsync());
        }

        // Disposing the container stopped the watchdog but left the shared multiplexer open.
        Assert.True(multiplexer.IsConnected);
        var invalid = new ServiceCollection().AddLogging().AddSingleton<IConnectionMultiplexer>(multiplexer).AddIncarnationWatchdog(_ => { });
        await using var invalidProvider = invalid.BuildServiceProvider();
        Assert.Throws<OptionsValidationException>(() => invalidProvider.GetRequiredService<IncarnationWatchdog>());
    }

    private static async Task Eventually(Func<bool> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > Patience)
            {
                Assert.Fail($"Timed out waiting until {what}.");
            }

            await Task.Delay(20);
        }
    }

    /// <summary>One node's view: its own multiplexer and watchdog.</summary>
    private sealed class Node : IAsyncDisposable
    {
        public static readonly TimeSpan CheckPeriod = TimeSpan.FromMilliseconds(100);

        private Node(ConnectionMultiplexer multiplexer, IncarnationWatchdog watchdog, RecordingLogger<IncarnationWatchdog> log)
        {
            Multiplexer = multiplexer;
            Watchdog = watchdog;
            Log = log;
        }

        public ConnectionMultiplexer Multiplexer { get; }

        public IncarnationWatchdog Watchdog { get; }

        public RecordingLogger<IncarnationWatchdog> Log { get; }

        public static IOptions<IncarnationWatchdogOptions> Options(Action<IncarnationWatchdogOptions>? configure = null)
        {
            var options = new IncarnationWatchdogOptions
            {
                IncarnationKey = IncarnationKey,
                CheckPeriod = CheckPeriod,
                CheckTimeout = TimeSpan.FromMilliseconds(300),
                JoinTimeout = TimeSpan.FromSeconds(10),
            };
            configure?.Invoke(options);
            return Microsoft.Extensions.Options.Options.Create(options);
        }

        public static async Task<Node> StartAsync(
            RedisServerFixture redis,
            Action<IncarnationWatchdogOptions>? configure = null,
            TimeProvider? time = null,
            TimeSpan? asyncTimeout = null)
        {
            var multiplexer = await ConnectAsync(redis, asyncTimeout ?? TimeSpan.FromSeconds(5));
            var log = new RecordingLogger<IncarnationWatchdog>();
            return new Node(multiplexer, new IncarnationWatchdog(multiplexer, Options(configure), time ?? TimeProvider.System, log), log);
        }

        public static Task<ConnectionMultiplexer> ConnectAsync(RedisServerFixture redis, TimeSpan asyncTimeout) =>
            ConnectionMultiplexer.ConnectAsync(new ConfigurationOptions
            {
                EndPoints = { redis.Endpoint },
                AbortOnConnectFail = false,
                ConnectTimeout = 1000,
                AsyncTimeout = (int)asyncTimeout.TotalMilliseconds,
                SyncTimeout = (int)asyncTimeout.TotalMilliseconds,
                ReconnectRetryPolicy = new LinearRetry(100),
            });

        public async ValueTask DisposeAsync()
        {
            await Watchdog.DisposeAsync();
            await Multiplexer.DisposeAsync();
        }
    }
}
