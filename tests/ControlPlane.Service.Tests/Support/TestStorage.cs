using Microsoft.Data.Sqlite;

namespace ControlPlane.Service.Tests.Support;

/// <summary>A temporary data directory holding one SQLite grain-storage file; nodes started on it share state (a
/// "restart" is a new node on the same file). Deleted on dispose.</summary>
internal sealed class TestStorage : IDisposable
{
    public TestStorage()
    {
        Directory = Path.Combine(Path.GetTempPath(), "cp-service-tests", Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(Directory);
    }

    /// <summary>The data directory.</summary>
    public string Directory { get; }

    /// <summary>The database file inside it.</summary>
    public string DatabasePath => Path.Combine(Directory, ControlPlaneServiceCollectionExtensions.SqliteFileName);

    /// <summary>Sizes in bytes of the database, its write-ahead log and its shared-memory index (0 when absent).</summary>
    public (long Database, long Wal, long Shm) FileSizes() =>
        (SizeOf(DatabasePath), SizeOf(DatabasePath + "-wal"), SizeOf(DatabasePath + "-shm"));

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a file still open is removed with the temp folder later.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private static long SizeOf(string path) => File.Exists(path) ? new FileInfo(path).Length : 0;
}
