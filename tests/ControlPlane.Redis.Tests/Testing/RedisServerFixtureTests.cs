using ControlPlane.Testing.Redis;

namespace ControlPlane.Redis.Tests.Testing;

/// <summary>The fixture other projects' tests rely on: start, stop, restart with and without data, pause.</summary>
public sealed class RedisServerFixtureTests
{
    [Fact]
    public async Task Keeps_acknowledged_writes_across_a_crash_with_appendonly()
    {
        await using var server = await RedisServerFixture.StartNewAsync(new RedisServerOptions { AppendOnly = true });
        await server.CliAsync("SET", "durable", "yes");

        await server.RestartAsync(keepData: true);

        Assert.Equal("yes", await server.CliAsync("GET", "durable"));
        Assert.EndsWith("yes", await server.CliAsync("CONFIG", "GET", "appendonly"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Starts_empty_without_persistence_and_on_the_same_port_after_restart()
    {
        await using var server = await RedisServerFixture.StartNewAsync();
        var port = server.Port;
        await server.CliAsync("SET", "volatile", "yes");

        await server.RestartAsync(keepData: false);

        Assert.Equal(port, server.Port);
        Assert.Equal(string.Empty, await server.CliAsync("GET", "volatile"));
        Assert.EndsWith("no", await server.CliAsync("CONFIG", "GET", "appendonly"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Stops_and_starts_and_reports_whether_it_runs()
    {
        var server = await RedisServerFixture.StartNewAsync();
        Assert.True(server.IsRunning);
        Assert.NotNull(server.ProcessId);

        await server.StopAsync(graceful: true);
        Assert.False(server.IsRunning);
        await Assert.ThrowsAsync<InvalidOperationException>(() => server.CliAsync("PING"));

        await server.StartAsync();
        Assert.Equal("PONG", await server.CliAsync("PING"));
        var directory = server.DataDirectory;

        await server.DisposeAsync();
        Assert.False(server.IsRunning);
        Assert.False(Directory.Exists(directory));
    }

    [Fact]
    public async Task Pauses_and_resumes_the_process()
    {
        await using var server = await RedisServerFixture.StartNewAsync();

        server.Pause();
        Assert.Equal('T', await ProcessState(server));
        server.Resume();
        Assert.NotEqual('T', await ProcessState(server));

        Assert.Equal("PONG", await server.CliAsync("PING"));
    }

    [Fact]
    public async Task Starts_with_requirepass()
    {
        await using var server = await RedisServerFixture.StartNewAsync(new RedisServerOptions { RequirePass = "pw" });

        Assert.Equal("pw", server.Password);
        Assert.Equal("PONG", await server.CliAsync("PING"));
    }

    // The state letter of /proc/<pid>/stat, after the parenthesised command name.
    private static async Task<char> ProcessState(RedisServerFixture server)
    {
        var stat = await File.ReadAllTextAsync($"/proc/{server.ProcessId}/stat");
        return stat[stat.LastIndexOf(')') + 2];
    }
}
