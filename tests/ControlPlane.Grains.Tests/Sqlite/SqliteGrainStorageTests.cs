using ControlPlane.Grains.Sqlite;
using ControlPlane.Grains.Storage;
using ControlPlane.Grains.Tests.Storage;

namespace ControlPlane.Grains.Tests.Sqlite;

/// <summary>The storage contract against a SQLite file.</summary>
public sealed class SqliteGrainStorageTests : GrainStorageContractTests, IDisposable
{
    private readonly TempDirectory _dir = new();

    protected override Task<IGrainStorage> CreateStorageAsync() =>
        Task.FromResult<IGrainStorage>(new SqliteGrainStorage(new SqliteGrainStorageOptions { Path = _dir.File("grains.db") }));

    public void Dispose() => _dir.Dispose();
}

/// <summary>A directory deleted after the test.</summary>
internal sealed class TempDirectory : IDisposable
{
    public TempDirectory()
    {
        Path = Directory.CreateTempSubdirectory("cp-grains-").FullName;
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(Path, recursive: true);
    }
}
