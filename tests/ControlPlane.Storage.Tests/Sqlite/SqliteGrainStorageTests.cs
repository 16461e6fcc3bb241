using ControlPlane.Storage.Sqlite;
using ControlPlane.Storage.Tests.Contract;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Orleans;
using Orleans.Hosting;
using Orleans.Runtime;
using Orleans.Serialization;
using Orleans.Storage;

namespace ControlPlane.Storage.Tests.Sqlite;

/// <summary>What only the SQLite provider promises: the files stay small, a corrupt row fails only its grain with a
/// clear error, committed writes survive a process that dies without closing, and the registration works.</summary>
public sealed class SqliteGrainStorageTests : IDisposable
{
    private const string StateName = "lease";
    private const long KiB = 1024;
    private const long MiB = 1024 * KiB;

    private readonly SqliteTestDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task Files_stay_small_under_many_rewrites_the_log_is_truncated_and_the_database_does_not_grow()
    {
        // A handful of rows of a few KB, rewritten 20,000 times: the shape of lease renewals and admin changes.
        // fsync does not change file sizes, so this test skips it to run in seconds.
        const int rows = 8;
        const int rewrites = 20_000;
        const int checkpointAfterWrites = 1_000;
        var clock = new FakeTimeProvider();
        await using var storage = Open(clock, o =>
        {
            o.SyncEveryCommit = false;
            o.CheckpointAfterWrites = checkpointAfterWrites;
            o.CheckpointPeriod = TimeSpan.FromSeconds(10);
        });
        var states = Enumerable.Range(0, rows).Select(_ => new GrainState<ContractState>(new ContractState())).ToArray();
        var payload = new string('p', 4_000);

        long dbAfterWarmUp = 0, maxDb = 0, maxWal = 0;
        for (var i = 1; i <= rewrites; i++)
        {
            var state = states[i % rows];
            state.State!.Number = i;
            state.State.Text = payload + i;
            await storage.WriteStateAsync(StateName, GrainId.Create("lease", $"slot-{i % rows}"), state);
            if (i % 250 == 0)
            {
                maxDb = Math.Max(maxDb, _directory.FileSize());
                maxWal = Math.Max(maxWal, _directory.FileSize("-wal"));
                if (i == checkpointAfterWrites)
                {
                    dbAfterWarmUp = _directory.FileSize();
                }
            }
        }

        // Live data is ~32 KB: the database stays near that and stops growing after the first cycle; the log never
        // holds more than one checkpoint interval (SQLite's own auto-checkpoint caps it near 4 MB anyway).
        Assert.InRange(maxDb, 1, 512 * KiB);
        Assert.True(_directory.FileSize() <= dbAfterWarmUp + (64 * KiB), $"db grew from {dbAfterWarmUp} to {_directory.FileSize()} bytes");
        Assert.InRange(maxWal, 0, 8 * MiB);

        // A few more writes leave frames in the log until the timer's checkpoint truncates it to zero bytes.
        for (var i = 0; i < 5; i++)
        {
            await storage.WriteStateAsync(StateName, GrainId.Create("lease", $"slot-{i}"), states[i]);
        }

        Assert.True(_directory.FileSize("-wal") > 0);
        clock.Advance(TimeSpan.FromSeconds(10));
        await WaitUntilAsync(() => _directory.FileSize("-wal") == 0);
        Assert.InRange(_directory.FileSize() + _directory.FileSize("-wal"), 1, 512 * KiB);
    }

    [Fact]
    public async Task Clearing_deletes_rows_and_the_file_gives_the_space_back()
    {
        await using var storage = Open(new FakeTimeProvider(), o => o.SyncEveryCommit = false);
        var states = new List<(GrainId Id, GrainState<ContractState> State)>();
        for (var i = 0; i < 200; i++)
        {
            var state = new GrainState<ContractState>(new ContractState { Text = new string('c', 8_000) });
            var id = GrainId.Create("admin", $"route-{i}");
            await storage.WriteStateAsync(StateName, id, state);
            states.Add((id, state));
        }

        await storage.CheckpointAsync();
        var full = _directory.FileSize();
        foreach (var (id, state) in states)
        {
            await storage.ClearStateAsync(StateName, id, state);
        }

        Assert.True(await storage.CheckpointAsync());
        Assert.Equal(0, CountRows());
        Assert.True(_directory.FileSize() < full / 4, $"db stayed at {_directory.FileSize()} bytes after clearing {full} bytes of rows");
    }

    [Fact]
    public async Task Corrupt_row_fails_only_its_grain_with_an_error_naming_it()
    {
        await using var storage = Open(new FakeTimeProvider());
        var broken = GrainId.Create("router", "broken");
        var fine = GrainId.Create("router", "fine");
        await storage.WriteStateAsync(StateName, broken, new GrainState<ContractState>(new ContractState { Text = "b" }));
        await storage.WriteStateAsync(StateName, fine, new GrainState<ContractState>(new ContractState { Text = "f" }));
        Corrupt(broken, "{ not json"u8.ToArray());

        var error = await Assert.ThrowsAsync<CorruptGrainStateException>(
            () => storage.ReadStateAsync(StateName, broken, new GrainState<ContractState>()));

        Assert.Equal(broken.ToString(), error.GrainId);
        Assert.Equal(StateName, error.StateName);
        Assert.Equal(typeof(ContractState).FullName, error.StateTypeName);
        Assert.Contains(broken.ToString(), error.Message, StringComparison.Ordinal);
        Assert.Contains(_directory.DatabasePath, error.Message, StringComparison.Ordinal);
        Assert.NotNull(error.InnerException);

        // The provider carries on: other grains read and write, and the bad row is left for an operator.
        var other = new GrainState<ContractState>();
        await storage.ReadStateAsync(StateName, fine, other);
        Assert.Equal("f", other.State!.Text);
        await storage.WriteStateAsync(StateName, fine, other);
        await Assert.ThrowsAsync<CorruptGrainStateException>(() => storage.ReadStateAsync(StateName, broken, new GrainState<ContractState>()));
    }

    [Fact]
    public async Task Committed_writes_survive_a_process_that_dies_without_closing()
    {
        var storage = Open(new FakeTimeProvider());
        var state = new GrainState<ContractState>(new ContractState { Text = "acknowledged", Number = 1 });
        var grain = GrainId.Create("quota", "tenant-a");
        await storage.WriteStateAsync(StateName, grain, state);
        state.State!.Number = 2;
        await storage.WriteStateAsync(StateName, grain, state);

        // What a kill -9 leaves on disk: the database and its log as they are, no checkpoint, no close. The shared
        // memory index is rebuilt from the log on open, so it is not copied.
        var crashed = new SqliteTestDirectory();
        try
        {
            File.Copy(_directory.DatabasePath, crashed.DatabasePath);
            File.Copy(_directory.DatabasePath + "-wal", crashed.DatabasePath + "-wal");
            Assert.True(new FileInfo(crashed.DatabasePath + "-wal").Length > 0);

            await using var restarted = new SqliteGrainStorage(
                "grains", new SqliteGrainStorageOptions { Path = crashed.DatabasePath }, StorageTestServices.Serializer, StorageTestServices.Activators);
            var read = new GrainState<ContractState>();
            await restarted.ReadStateAsync(StateName, grain, read);

            Assert.Equal(2, read.State!.Number);
            Assert.Equal(state.ETag, read.ETag);
        }
        finally
        {
            await storage.DisposeAsync();
            crashed.Dispose();
        }
    }

    [Fact]
    public async Task Registration_adds_a_named_provider_that_joins_the_silo_lifecycle()
    {
        var silo = new MinimalSiloBuilder();
        silo.Services.AddSerializer();
        silo.Services.AddSingleton(StorageTestServices.Serializer);
        silo.AddSqliteGrainStorage("cp", _directory.DatabasePath);
        await using var services = silo.Services.BuildServiceProvider();

        var storage = Assert.IsType<SqliteGrainStorage>(services.GetRequiredKeyedService<IGrainStorage>("cp"));
        Assert.Equal(_directory.DatabasePath, storage.Path);
        Assert.Contains(services.GetServices<ILifecycleParticipant<ISiloLifecycle>>(), p => ReferenceEquals(p, storage));

        // Starting the lifecycle opens the file (a bad path fails the silo start, not the first grain call).
        var lifecycle = await ManualSiloLifecycle.StartAsync(storage);
        Assert.True(File.Exists(_directory.DatabasePath));
        await lifecycle.StopAsync();
    }

    [Fact]
    public void Invalid_options_are_rejected_with_every_reason()
    {
        var silo = new MinimalSiloBuilder();
        silo.Services.AddSerializer();
        silo.Services.AddSingleton(StorageTestServices.Serializer);
        silo.AddSqliteGrainStorage("cp", o =>
        {
            o.CheckpointPeriod = TimeSpan.Zero;
            o.CheckpointAfterWrites = 0;
        });
        using var services = silo.Services.BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => services.GetRequiredKeyedService<IGrainStorage>("cp"));
        Assert.Contains(error.Failures, f => f.Contains("Path is required", StringComparison.Ordinal));
        Assert.Contains(error.Failures, f => f.Contains("CheckpointPeriod", StringComparison.Ordinal));
        Assert.Contains(error.Failures, f => f.Contains("CheckpointAfterWrites", StringComparison.Ordinal));
    }

    private SqliteGrainStorage Open(TimeProvider clock, Action<SqliteGrainStorageOptions>? configure = null)
    {
        var options = new SqliteGrainStorageOptions { Path = _directory.DatabasePath };
        configure?.Invoke(options);
        return new SqliteGrainStorage("grains", options, StorageTestServices.Serializer, StorageTestServices.Activators, clock);
    }

    private void Corrupt(GrainId grain, byte[] data)
    {
        using var connection = new SqliteConnection($"Data Source={_directory.DatabasePath};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "UPDATE grain_storage SET data = @data WHERE grain_id = @grain;";
        command.Parameters.AddWithValue("@data", data);
        command.Parameters.AddWithValue("@grain", grain.ToString());
        Assert.Equal(1, command.ExecuteNonQuery());
    }

    private long CountRows()
    {
        using var connection = new SqliteConnection($"Data Source={_directory.DatabasePath};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM grain_storage;";
        return (long)command.ExecuteScalar()!;
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        // The timer's checkpoint runs on the thread pool after the fake clock fires it.
        for (var i = 0; i < 500 && !condition(); i++)
        {
            await Task.Delay(10);
        }

        Assert.True(condition());
    }

    private sealed class MinimalSiloBuilder : ISiloBuilder
    {
        public IServiceCollection Services { get; } = new ServiceCollection();

        public IConfiguration Configuration { get; } = new ConfigurationBuilder().Build();
    }
}
