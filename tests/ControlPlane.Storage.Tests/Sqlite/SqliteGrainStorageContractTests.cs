using ControlPlane.Storage.Sqlite;
using ControlPlane.Storage.Tests.Contract;
using Orleans.Storage;

namespace ControlPlane.Storage.Tests.Sqlite;

/// <summary>The contract against <see cref="SqliteGrainStorage"/> with its production defaults
/// (<c>synchronous=FULL</c>, delete on clear), one file in a temp directory per test.</summary>
public sealed class SqliteGrainStorageContractTests : GrainStorageContractTests
{
    private readonly SqliteTestDirectory _directory = new();

    protected override Task<IGrainStorage> CreateStorageAsync() => Task.FromResult<IGrainStorage>(Open());

    protected override async Task<IGrainStorage> ReopenAsync(IGrainStorage storage)
    {
        await CloseAsync(storage);
        return Open();
    }

    protected override async Task CloseAsync(IGrainStorage storage) => await ((SqliteGrainStorage)storage).DisposeAsync();

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        _directory.Dispose();
    }

    private SqliteGrainStorage Open() =>
        new("contract", new SqliteGrainStorageOptions { Path = _directory.DatabasePath }, StorageTestServices.Serializer, StorageTestServices.Activators);
}

/// <summary>The contract with <see cref="SqliteGrainStorageOptions.DeleteStateOnClear"/> off: a clear keeps the row
/// with no data and a new etag (Orleans' Redis provider's default behaviour).</summary>
public sealed class SqliteGrainStorageKeepRowOnClearContractTests : GrainStorageContractTests
{
    private readonly SqliteTestDirectory _directory = new();

    protected override Task<IGrainStorage> CreateStorageAsync() => Task.FromResult<IGrainStorage>(Open());

    protected override async Task<IGrainStorage> ReopenAsync(IGrainStorage storage)
    {
        await CloseAsync(storage);
        return Open();
    }

    protected override async Task CloseAsync(IGrainStorage storage) => await ((SqliteGrainStorage)storage).DisposeAsync();

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        _directory.Dispose();
    }

    private SqliteGrainStorage Open() => new(
        "contract",
        new SqliteGrainStorageOptions { Path = _directory.DatabasePath, DeleteStateOnClear = false },
        StorageTestServices.Serializer,
        StorageTestServices.Activators);
}
