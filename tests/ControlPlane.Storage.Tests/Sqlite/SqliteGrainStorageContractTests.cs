using ControlPlane.Storage.Sqlite;
using ControlPlane.Storage.Tests.Contract;
using Orleans.Storage;

namespace ControlPlane.Storage.Tests.Sqlite;

/// <summary>The contract against <see cref="SqliteGrainStorage"/>, one file in a temp directory per test; subclasses
/// choose the options.</summary>
public abstract class SqliteContractTestsBase : GrainStorageContractTests
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

    /// <summary>The options under test, for a database at <paramref name="path"/>.</summary>
    protected abstract SqliteGrainStorageOptions Options(string path);

    private SqliteGrainStorage Open() =>
        new("contract", Options(_directory.DatabasePath), StorageTestServices.Serializer, StorageTestServices.Activators);
}

/// <summary>The contract with the production defaults (<c>synchronous=FULL</c>, delete on clear).</summary>
public sealed class SqliteGrainStorageContractTests : SqliteContractTestsBase
{
    protected override SqliteGrainStorageOptions Options(string path) => new() { Path = path };
}

/// <summary>The contract with <see cref="SqliteGrainStorageOptions.DeleteStateOnClear"/> off: a clear keeps the row
/// with no data and a new etag (Orleans' Redis provider's default behaviour).</summary>
public sealed class SqliteGrainStorageKeepRowOnClearContractTests : SqliteContractTestsBase
{
    protected override SqliteGrainStorageOptions Options(string path) => new() { Path = path, DeleteStateOnClear = false };
}
