namespace ControlPlane.Grains.Sqlite;

/// <summary>Settings of <see cref="SqliteGrainStorage"/>.</summary>
public sealed class SqliteGrainStorageOptions
{
    /// <summary>The database file; created (with its schema) when missing.</summary>
    /// <value>Required.</value>
    public string Path { get; set; } = "";

    /// <summary>Commit durability. <c>true</c>: fsync on every commit (survives power loss); <c>false</c>: WAL
    /// <c>synchronous=NORMAL</c> (survives process crashes, may lose the last commits on power loss).</summary>
    /// <value>Defaults to <c>true</c>: acknowledged writes are never lost.</value>
    public bool SyncEveryCommit { get; set; } = true;

    /// <summary>How long a statement waits for a lock held by another process on the same file.</summary>
    /// <value>Between 0 and 5 min. Defaults to 5 s.</value>
    public TimeSpan BusyTimeout { get; set; } = TimeSpan.FromSeconds(5);

    internal void Validate()
    {
        if (string.IsNullOrWhiteSpace(Path))
        {
            throw new ArgumentException("SqliteGrainStorageOptions.Path is required.");
        }

        if (BusyTimeout < TimeSpan.Zero || BusyTimeout > TimeSpan.FromMinutes(5))
        {
            throw new ArgumentException($"SqliteGrainStorageOptions.BusyTimeout must be between 0 and 5 min (was {BusyTimeout}).");
        }
    }
}
