using System.Text;
using ControlPlane.Testing;
using ControlPlane.Testing.Redis;

namespace ControlPlane.Redis.Tests.Connection;

/// <summary>Kills, restarts and pauses a real redis-server (one per test) under the client.</summary>
public sealed class ConnectionFaultTests
{
    [Fact]
    public async Task Fails_in_flight_commands_on_restart_then_reconnects_and_serves_later_commands()
    {
        await using var server = await RedisServerFixture.StartNewAsync();
        await using var redis = await RedisClient.ConnectAsync(RedisTestSupport.Options(server));
        var down = RedisTestSupport.NextState(h => redis.StateChanged += h, RedisConnectionState.Disconnected);
        var up = RedisTestSupport.NextState(h => redis.StateChanged += h, RedisConnectionState.Connected);

        // A blocking pop holds its reply back: once the server lists it, it is in flight when the server dies.
        var inFlight = redis.ExecuteAsync("BLPOP", "never-filled", 0);
        await RedisTestSupport.Eventually(
            async () => (await server.CliAsync("CLIENT", "LIST")).Contains("cmd=blpop", StringComparison.Ordinal), "BLPOP reached the server");
        await server.StopAsync();

        var lost = await Assert.ThrowsAsync<RedisConnectionException>(() => inFlight);
        Assert.True(lost.CommandSent);
        Assert.IsNotType<RedisProtocolException>(lost);
        Assert.NotNull((await down).Error);

        var queued = redis.SetAsync("k", "queued while down");
        await server.StartAsync();
        await up;

        Assert.True(await queued);
        Assert.Equal("queued while down", await redis.GetStringAsync("k"));
        Assert.Equal("PONG", await redis.PingAsync());
        Assert.Equal(RedisConnectionState.Connected, redis.State);
    }

    [Fact]
    public async Task Times_out_while_the_server_is_frozen_and_recovers_when_it_thaws()
    {
        await using var server = await RedisServerFixture.StartNewAsync();
        await using var redis = await RedisClient.ConnectAsync(
            RedisTestSupport.Options(server, o => o.CommandTimeout = TimeSpan.FromSeconds(1)));
        await redis.SetAsync("k", "before");

        server.Pause();
        var timeout = await Assert.ThrowsAsync<RedisTimeoutException>(() => redis.SetAsync("k", "during"));
        server.Resume();

        Assert.True(timeout.CommandSent);

        // The late reply to the timed-out SET is discarded, not handed to the next caller:
        // the command did execute (at most once), and replies stay aligned.
        Assert.Equal("during", await redis.GetStringAsync("k"));
        Assert.Equal("PONG", await redis.PingAsync());
        Assert.Equal(RedisConnectionState.Connected, redis.State);
    }

    [Fact]
    public async Task Fails_fast_while_disconnected_when_queueing_is_off()
    {
        await using var server = await RedisServerFixture.StartNewAsync();
        await using var redis = await RedisClient.ConnectAsync(RedisTestSupport.Options(server, o => o.QueueWhileDisconnected = false));
        var down = RedisTestSupport.NextState(h => redis.StateChanged += h, RedisConnectionState.Disconnected);

        await server.StopAsync();
        await down;

        var error = await Assert.ThrowsAsync<RedisConnectionException>(() => redis.PingAsync());
        Assert.False(error.CommandSent);

        var up = RedisTestSupport.NextState(h => redis.StateChanged += h, RedisConnectionState.Connected);
        await server.StartAsync();
        await up;
        Assert.Equal("PONG", await redis.PingAsync());
    }

    [Fact]
    public async Task A_command_queued_while_disconnected_times_out_unsent_on_the_injected_clock()
    {
        var time = new FakeTimeProvider();
        var port = FreePort.Next();
        await using var redis = RedisClient.Create(new RedisOptions { Endpoint = $"127.0.0.1:{port}" }, time);

        var queued = redis.SetAsync("k", "v");
        time.Advance(TimeSpan.FromSeconds(4.9));
        Assert.False(queued.IsCompleted);
        time.Advance(TimeSpan.FromSeconds(0.1));

        var error = await Assert.ThrowsAsync<RedisTimeoutException>(() => queued);
        Assert.False(error.CommandSent);
    }

    [Fact]
    public async Task A_sent_command_times_out_on_the_injected_clock_when_no_reply_comes()
    {
        var received = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var silent = new ScriptedPeer(async (_, stream, ct) =>
        {
            await ScriptedPeer.ReadCommandAsync(stream, ct);
            received.TrySetResult();
            await Task.Delay(Timeout.Infinite, ct);
        });
        var time = new FakeTimeProvider();
        await using var redis = await RedisClient.ConnectAsync(new RedisOptions { Endpoint = silent.Endpoint, ClientName = null }, time);

        var pending = redis.PingAsync();
        await received.Task.WaitAsync(RedisTestSupport.HangGuard);
        using var cancel = new CancellationTokenSource();
        var cancelled = redis.PingAsync(cancel.Token);
        await cancel.CancelAsync();
        time.Advance(TimeSpan.FromSeconds(4.999));
        Assert.False(pending.IsCompleted);
        time.Advance(TimeSpan.FromMilliseconds(1));

        Assert.True((await Assert.ThrowsAsync<RedisTimeoutException>(() => pending)).CommandSent);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
        Assert.Equal(RedisConnectionState.Connected, redis.State);
    }

    [Theory]
    [InlineData("!garbage\r\n")]
    [InlineData("$5\r\nhelloXX")]
    [InlineData("+OK\r\n+UNSOLICITED\r\n")]
    public async Task A_protocol_violation_fails_the_command_and_tears_the_connection_down(string corrupt)
    {
        await using var peer = new ScriptedPeer(async (index, stream, ct) =>
        {
            await ScriptedPeer.ReadCommandAsync(stream, ct);
            await stream.WriteAsync(Encoding.ASCII.GetBytes(index == 0 ? corrupt : "+PONG\r\n"), ct);
            await Task.Delay(Timeout.Infinite, ct);
        });
        await using var redis = await RedisClient.ConnectAsync(new RedisOptions
        {
            Endpoint = peer.Endpoint,
            ClientName = null,
            ReconnectMinDelay = TimeSpan.FromMilliseconds(10),
        });
        var down = RedisTestSupport.NextState(h => redis.StateChanged += h, RedisConnectionState.Disconnected);
        var up = RedisTestSupport.NextState(h => redis.StateChanged += h, RedisConnectionState.Connected);

        var first = redis.PingAsync();
        if (corrupt.StartsWith("+OK", StringComparison.Ordinal))
        {
            // The first reply is well-formed; the unsolicited second one is the violation.
            Assert.Equal("OK", await first);
        }
        else
        {
            var error = await Assert.ThrowsAsync<RedisProtocolException>(() => first);
            Assert.True(error.CommandSent);
        }

        Assert.IsType<RedisProtocolException>((await down).Error);
        await up;
        Assert.Equal("PONG", await redis.PingAsync());
        Assert.Equal(2, peer.Accepted);
    }

    [Fact]
    public async Task Authenticates_with_requirepass_and_reports_a_missing_or_wrong_password()
    {
        await using var server = await RedisServerFixture.StartNewAsync(new RedisServerOptions { RequirePass = "s3cret pass" });

        await using (var redis = await RedisClient.ConnectAsync(RedisTestSupport.Options(server)))
        {
            Assert.Equal("PONG", await redis.PingAsync());
            Assert.Equal("default", (await redis.ExecuteAsync("ACL", "WHOAMI")).AsString());
        }

        var missing = await Assert.ThrowsAsync<RedisConnectionException>(() =>
            RedisClient.ConnectAsync(RedisTestSupport.Options(server, o => o.Password = null)));
        Assert.Equal("NOAUTH", Assert.IsType<RedisServerException>(missing.InnerException).Prefix);

        var wrong = await Assert.ThrowsAsync<RedisConnectionException>(() =>
            RedisClient.ConnectAsync(RedisTestSupport.Options(server, o => o.Password = "nope")));
        Assert.Equal("WRONGPASS", Assert.IsType<RedisServerException>(wrong.InnerException).Prefix);
        Assert.DoesNotContain("nope", wrong.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Authenticates_an_acl_user_and_selects_the_database_on_every_connect()
    {
        await using var server = await RedisServerFixture.StartNewAsync();
        await server.CliAsync("ACL", "SETUSER", "grains", "on", ">grain-pass", "~*", "+@all");
        await using var redis = await RedisClient.ConnectAsync(RedisTestSupport.Options(server, o =>
        {
            o.User = "grains";
            o.Password = "grain-pass";
            o.Database = 3;
        }));

        await redis.SetAsync("k", "in db 3");
        Assert.Equal("grains", (await redis.ExecuteAsync("ACL", "WHOAMI")).AsString());
        Assert.Equal("in db 3", await server.CliAsync("-n", "3", "GET", "k"));
        Assert.Equal(string.Empty, await server.CliAsync("-n", "0", "GET", "k"));
    }

    [Fact]
    public async Task A_connection_created_before_the_server_starts_serves_commands_queued_meanwhile()
    {
        await using var server = RedisServerFixture.Create(new RedisServerOptions());
        await using var redis = RedisClient.Create(RedisTestSupport.Options(server, o => o.CommandTimeout = TimeSpan.FromSeconds(15)));
        var queued = redis.SetAsync("early", "bird");
        Assert.Equal(RedisConnectionState.Disconnected, redis.State);

        await server.StartAsync();

        Assert.True(await queued);
        Assert.Equal("bird", await server.CliAsync("GET", "early"));
    }

    [Fact]
    public async Task Connect_reports_an_unreachable_server_clearly()
    {
        var port = FreePort.Next();

        var error = await Assert.ThrowsAsync<RedisConnectionException>(() =>
            RedisClient.ConnectAsync(new RedisOptions { Endpoint = $"127.0.0.1:{port}" }));

        Assert.Contains($"127.0.0.1:{port}", error.Message, StringComparison.Ordinal);
        Assert.False(error.CommandSent);
    }

    [Fact]
    public async Task Dispose_fails_queued_commands_and_refuses_new_ones()
    {
        await using var server = await RedisServerFixture.StartNewAsync();
        var redis = await RedisClient.ConnectAsync(RedisTestSupport.Options(server));
        server.Pause();
        var inFlight = redis.PingAsync();

        await redis.DisposeAsync();
        server.Resume();

        await Assert.ThrowsAsync<RedisConnectionException>(() => inFlight);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => redis.PingAsync());
        Assert.Equal(RedisConnectionState.Disposed, redis.State);
    }
}
