using System.Text;
using ControlPlane.Testing.Redis;

namespace ControlPlane.Redis.Tests.Connection;

/// <summary>The behaviour every <see cref="IRedisConnection"/> must show against a real redis-server.
/// Written once; an adapter over another client (StackExchange.Redis) would subclass it too.</summary>
public abstract class RedisConnectionContract : IAsyncLifetime
{
    private IRedisConnection? _redis;

    protected RedisConnectionContract(RedisServerFixture server)
    {
        Server = server;
    }

    protected RedisServerFixture Server { get; }

    protected IRedisConnection Redis => _redis ?? throw new InvalidOperationException("Not connected.");

    // Keys are unique per test so tests sharing one server can run in any order.
    private string Key(string name) => $"{GetType().Name}:{Guid.NewGuid():N}:{name}";

    public async Task InitializeAsync() => _redis = await ConnectAsync(RedisTestSupport.Options(Server));

    public async Task DisposeAsync()
    {
        if (_redis is not null)
        {
            await _redis.DisposeAsync();
        }
    }

    protected abstract Task<IRedisConnection> ConnectAsync(RedisOptions options);

    [Fact]
    public async Task Pipelines_ten_thousand_concurrent_commands_and_matches_every_reply()
    {
        var counter = Key("counter");
        const int Count = 10_000;

        // Issued from several threads at once, none awaiting before the next is sent.
        var echoes = new Task<RespValue>[Count];
        var increments = new Task<long>[Count];
        Parallel.For(0, Count, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i =>
        {
            echoes[i] = Redis.ExecuteAsync("ECHO", $"value-{i}");
            increments[i] = Redis.IncrementAsync(counter);
        });
        var echoed = await Task.WhenAll(echoes);
        var counted = await Task.WhenAll(increments);

        for (var i = 0; i < Count; i++)
        {
            Assert.Equal($"value-{i}", echoed[i].AsString());
        }

        Assert.Equal(Enumerable.Range(1, Count).Select(i => (long)i), counted.Order());
        Assert.Equal(Count.ToString(System.Globalization.CultureInfo.InvariantCulture), await Server.CliAsync("GET", counter));
    }

    [Fact]
    public async Task Stores_binary_keys_and_values_byte_for_byte()
    {
        var value = Enumerable.Range(0, 256).Select(i => (byte)i).Concat("\r\n$-1\r\n*"u8.ToArray()).ToArray();
        var key = Encoding.UTF8.GetBytes(Key("bin")).Concat(new byte[] { 0, 13, 10, 255 }).ToArray();

        Assert.True(await Redis.SetAsync(key, value));

        Assert.Equal(value, (await Redis.GetAsync(key)).AsBytes());
        Assert.Equal(value.Length, (await Redis.ExecuteAsync("STRLEN", key)).AsInt64());
    }

    [Fact]
    public async Task Encodes_text_as_utf8()
    {
        var key = Key("utf8");
        await Redis.SetAsync(key, "h\u00e9 \u20ac \U0001F600");

        Assert.Equal("h\u00e9 \u20ac \U0001F600", await Redis.GetStringAsync(key));
        Assert.Equal(12, (await Redis.ExecuteAsync("STRLEN", key)).AsInt64());
    }

    [Fact]
    public async Task Error_replies_throw_server_exceptions_without_breaking_the_pipeline()
    {
        var hash = Key("hash");
        var text = Key("text");
        await Redis.HashSetAsync(hash, "f", "v");

        var before = Redis.SetAsync(text, "ok");
        var wrong = Redis.GetAsync(hash);
        var after = Redis.GetStringAsync(text);

        var error = await Assert.ThrowsAsync<RedisServerException>(() => wrong);
        Assert.Equal("WRONGTYPE", error.Prefix);
        Assert.True(await before);
        Assert.Equal("ok", await after);
        Assert.Equal("PONG", await Redis.PingAsync());
        Assert.Equal(RedisConnectionState.Connected, Redis.State);

        var unknown = await Assert.ThrowsAsync<RedisServerException>(() => Redis.ExecuteAsync("NOSUCHCOMMAND", "x"));
        Assert.Equal("ERR", unknown.Prefix);
    }

    [Fact]
    public async Task Set_honours_nx_xx_and_px()
    {
        var key = Key("set");

        Assert.False(await Redis.SetAsync(key, "a", condition: SetCondition.IfExists));
        Assert.True(await Redis.SetAsync(key, "a", condition: SetCondition.IfNotExists));
        Assert.False(await Redis.SetAsync(key, "b", condition: SetCondition.IfNotExists));
        Assert.Equal("a", await Redis.GetStringAsync(key));
        Assert.True(await Redis.SetAsync(key, "c", TimeSpan.FromSeconds(100), SetCondition.IfExists));
        Assert.Equal("c", await Redis.GetStringAsync(key));

        var ttl = (await Redis.ExecuteAsync("PTTL", key)).AsInt64();
        Assert.InRange(ttl, 1, 100_000);
    }

    [Fact]
    public async Task Keys_exist_count_and_expire()
    {
        var key = Key("k");
        Assert.False(await Redis.ExistsAsync(key));
        Assert.Null(await Redis.GetStringAsync(key));
        Assert.True((await Redis.GetAsync(key)).IsNull);
        Assert.False(await Redis.ExpireAsync(key, TimeSpan.FromSeconds(10)));

        Assert.Equal(1, await Redis.IncrementAsync(key));
        Assert.Equal(2, await Redis.IncrementAsync(key));
        Assert.True(await Redis.ExistsAsync(key));
        Assert.True(await Redis.ExpireAsync(key, TimeSpan.FromSeconds(30)));
        Assert.InRange((await Redis.ExecuteAsync("TTL", key)).AsInt64(), 1, 30);
        Assert.True(await Redis.ExpireAsync(key, TimeSpan.FromMilliseconds(25_500)));
        Assert.InRange((await Redis.ExecuteAsync("PTTL", key)).AsInt64(), 1, 25_500);

        Assert.Equal(1, await Redis.DeleteAsync(key));
        Assert.Equal(0, await Redis.DeleteAsync(key));
        Assert.False(await Redis.ExistsAsync(key));
    }

    [Fact]
    public async Task Hash_commands_round_trip()
    {
        var key = Key("h");

        Assert.Empty(await Redis.HashGetAllAsync(key));
        Assert.Equal(2, await Redis.HashSetAsync(key, [new("epoch", 7), new("owner", "node-a")]));
        Assert.False(await Redis.HashSetAsync(key, "owner", "node-b"));
        Assert.Equal(7, (await Redis.HashGetAsync(key, "epoch")).AsInt64());
        Assert.True((await Redis.HashGetAsync(key, "missing")).IsNull);

        var all = await Redis.HashGetAllAsync(key);
        Assert.Equal(["epoch", "owner"], all.Keys.Order());
        Assert.Equal("node-b", all["owner"].AsString());

        Assert.Equal(1, await Redis.HashDeleteAsync(key, "epoch"));
        Assert.Equal(0, await Redis.HashDeleteAsync(key, "epoch"));
        Assert.Equal(["owner"], (await Redis.HashGetAllAsync(key)).Keys);
    }

    [Fact]
    public async Task Server_time_agrees_with_server_side_expiry()
    {
        // TIME is the clock all nodes share for leases; an absolute expiry Redis computes must sit
        // between two TIME readings plus the TTL.
        var key = Key("lease");
        var before = await Redis.TimeAsync();
        await Redis.SetAsync(key, "node-a", TimeSpan.FromSeconds(100));
        var after = await Redis.TimeAsync();
        var expiresAt = DateTimeOffset.FromUnixTimeMilliseconds((await Redis.ExecuteAsync("PEXPIRETIME", key)).AsInt64());

        Assert.True(after >= before);
        Assert.InRange(expiresAt, before.AddSeconds(100).AddMilliseconds(-1), after.AddSeconds(100).AddMilliseconds(1));
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(long.Parse(
            (await Server.CliAsync("TIME")).Split('\n')[0], System.Globalization.CultureInfo.InvariantCulture)).Year, before.Year);
    }

    [Fact]
    public async Task Evaluates_a_script_after_script_flush_by_falling_back_once()
    {
        var key = Key("fenced");
        var script = new RedisScript("""
            local epoch = tonumber(redis.call('HGET', KEYS[1], 'epoch') or '0')
            if tonumber(ARGV[1]) < epoch then
              return redis.error_reply('FENCED stale epoch ' .. ARGV[1] .. ' < ' .. epoch)
            end
            redis.call('HSET', KEYS[1], 'epoch', ARGV[1], 'state', ARGV[2])
            return redis.call('HINCRBY', KEYS[1], 'writes', 1)
            """);
        await Server.CliAsync("SCRIPT", "FLUSH");

        Assert.Equal(1, (await Redis.EvaluateAsync(script, [key], [5, "s1"])).AsInt64());
        Assert.Equal("1", await Server.CliAsync("SCRIPT", "EXISTS", script.Sha1));
        Assert.Equal(2, (await Redis.EvaluateAsync(script, [key], [5, "s2"])).AsInt64());

        var fenced = await Assert.ThrowsAsync<RedisServerException>(() => Redis.EvaluateAsync(script, [key], [4, "zombie"]));
        Assert.Equal("FENCED", fenced.Prefix);
        Assert.Equal("s2", (await Redis.HashGetAsync(key, "state")).AsString());

        await Server.CliAsync("SCRIPT", "FLUSH");
        Assert.Equal(3, (await Redis.EvaluateAsync(script, [key], [6, "s3"])).AsInt64());
    }

    [Fact]
    public async Task Evalsha_without_fallback_reports_noscript_and_script_load_matches_our_sha1()
    {
        var script = new RedisScript("return ARGV[1] .. '" + Guid.NewGuid().ToString("N") + "'");

        var missing = await Assert.ThrowsAsync<RedisServerException>(() => Redis.EvalShaAsync(script.Sha1, [], ["x"]));
        Assert.Equal("NOSCRIPT", missing.Prefix);

        Assert.Equal(script.Sha1, await Redis.ScriptLoadAsync(script));
        Assert.StartsWith("x", (await Redis.EvalShaAsync(script.Sha1, [], ["x"])).AsString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Returns_nested_arrays_and_nested_errors_from_lua()
    {
        var reply = await Redis.EvalAsync("return {1, 'two', {3, {}}, redis.error_reply('MYERR inner'), false}", [], []);

        var items = reply.AsArray()!;
        Assert.Equal(5, items.Count);
        Assert.Equal(1, items[0].AsInt64());
        Assert.Equal("two", items[1].AsString());
        Assert.Equal(RespValue.Array([RespValue.Integer(3), RespValue.Array([])]), items[2]);
        Assert.True(items[3].IsError);
        Assert.Equal("MYERR inner", items[3].AsString());
        Assert.True(items[4].IsNull);
    }

    [Fact]
    public async Task Publish_counts_receivers_and_info_and_ping_answer()
    {
        Assert.Equal(0, await Redis.PublishAsync(Key("nobody"), "hello"));
        Assert.Equal("PONG", await Redis.PingAsync());
        Assert.Contains("redis_version:", await Redis.InfoAsync("server"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Names_the_client_on_connect()
    {
        Assert.Equal("controlplane", (await Redis.ExecuteAsync("CLIENT", "GETNAME")).AsString());
    }

    [Fact]
    public async Task A_cancelled_token_cancels_the_command()
    {
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Redis.GetAsync(Key("c"), cancelled.Token));
        Assert.Equal("PONG", await Redis.PingAsync());
    }
}

/// <summary>The contract, run against our multiplexed connection.</summary>
public sealed class MultiplexedConnectionContractTests(RedisServerFixture server)
    : RedisConnectionContract(server), IClassFixture<RedisServerFixture>
{
    protected override Task<IRedisConnection> ConnectAsync(RedisOptions options) => RedisClient.ConnectAsync(options);
}
