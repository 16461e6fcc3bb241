using ControlPlane.Grains.Sqlite;
using ControlPlane.Grains.Tests.TestGrains;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;

namespace ControlPlane.Grains.Tests.Sqlite;

public sealed class SqliteRestartTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task State_survives_a_silo_restart_on_the_same_file()
    {
        var path = _dir.File("restart.db");

        await using (var first = await StartAsync(path))
        {
            var counter = first.GrainFactory.GetGrain<ICounterGrain>("durable");
            for (var i = 0; i < 5; i++)
            {
                await counter.IncrementAsync();
            }

            // Not saved explicitly: the grain writes its state in OnDeactivateAsync at shutdown.
        }

        await using var second = await StartAsync(path);
        var again = second.GrainFactory.GetGrain<ICounterGrain>("durable");
        Assert.Equal(5, await again.GetAsync());
        Assert.Equal(6, await again.IncrementAsync());
        await again.SaveAsync();
    }

    [Fact]
    public async Task The_file_is_in_wal_mode_with_the_state_table()
    {
        var path = _dir.File("wal.db");
        await using (var silo = await StartAsync(path))
        {
            var counter = silo.GrainFactory.GetGrain<ICounterGrain>("c");
            await counter.IncrementAsync();
            await counter.SaveAsync();
        }

        await using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode; ";
        Assert.Equal("wal", (string?)await command.ExecuteScalarAsync());
        command.CommandText = "SELECT grain_type || '/' || grain_key || ' epoch ' || epoch FROM grain_state";
        Assert.Equal("counter/c epoch 0", (string?)await command.ExecuteScalarAsync());
    }

    [Fact]
    public void Options_are_validated()
    {
        Assert.Throws<ArgumentException>(() => new GrainSiloBuilder().UseSqliteStorage(""));
        Assert.Throws<ArgumentException>(() => new GrainSiloBuilder().UseSqliteStorage(_dir.File("x.db"), o => o.BusyTimeout = TimeSpan.FromHours(1)));
    }

    private static async Task<GrainSilo> StartAsync(string path)
    {
        var builder = new GrainSiloBuilder().AddGrain<ICounterGrain, CounterGrain>().UseSqliteStorage(path);
        builder.Services.AddSingleton(new LifecycleProbe());
        var silo = builder.Build();
        await silo.StartAsync();
        return silo;
    }
}
