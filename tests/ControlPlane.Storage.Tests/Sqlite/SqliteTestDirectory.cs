namespace ControlPlane.Storage.Tests.Sqlite;

/// <summary>A temp directory holding one test's database files; deleted on dispose.</summary>
internal sealed class SqliteTestDirectory : IDisposable
{
    public SqliteTestDirectory()
    {
        Directory.CreateDirectory(Root);
    }

    public string Root { get; } = Path.Combine(Path.GetTempPath(), "cp-sqlite-" + Guid.NewGuid().ToString("N")[..12]);

    public string DatabasePath => Path.Combine(Root, "grains.db");

    public long FileSize(string suffix = "")
    {
        var file = new FileInfo(DatabasePath + suffix);
        return file.Exists ? file.Length : 0;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // A file still open by a failed test; the OS temp cleaner takes it.
        }
    }
}
