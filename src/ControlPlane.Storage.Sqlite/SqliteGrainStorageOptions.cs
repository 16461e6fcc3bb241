using Orleans;
using Orleans.Storage;

namespace ControlPlane.Storage.Sqlite;

/// <summary>Settings of <see cref="SqliteGrainStorage"/>. Validated when the provider is created.</summary>
public sealed class SqliteGrainStorageOptions
{
    /// <summary>The database file; it and its directory are created when missing.</summary>
    /// <value>Required.</value>
    public string Path { get; set; } = "";

    /// <summary>Commit durability. <c>true</c>: <c>synchronous=FULL</c>, every commit is fsynced before the write is
    /// acknowledged (survives power loss). <c>false</c>: <c>synchronous=NORMAL</c> (survives process crashes, may lose
    /// the last commits on power loss).</summary>
    /// <value>Defaults to <c>true</c>: an acknowledged write is never lost.</value>
    public bool SyncEveryCommit { get; set; } = true;

    /// <summary>How long a statement waits for a lock held by another connection or process on the same file.</summary>
    /// <value>Between 0 and 5 min. Defaults to 5 s.</value>
    public TimeSpan BusyTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How often the write-ahead log is checkpointed into the database and truncated to zero bytes, when
    /// anything was written since the last checkpoint. An idle provider does nothing.</summary>
    /// <value>Between 1 s and 1 h. Defaults to 30 s.</value>
    public TimeSpan CheckpointPeriod { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>After this many writes and clears the log is checkpointed and truncated at once, so a burst of writes
    /// cannot grow it past roughly this many rows' worth of pages.</summary>
    /// <value>Between 1 and 1,000,000. Defaults to 1,000.</value>
    public int CheckpointAfterWrites { get; set; } = 1_000;

    /// <summary>SQLite's <c>journal_size_limit</c>: the size the log file is cut back to whenever SQLite resets it
    /// between our own checkpoints (its automatic checkpoints).</summary>
    /// <value>Between 0 and 1 GiB. Defaults to 4 MiB.</value>
    public long JournalSizeLimitBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>What <see cref="IGrainStorage.ClearStateAsync{T}(string, Orleans.Runtime.GrainId, IGrainState{T})"/>
    /// does to the row. <c>true</c>: deletes it (the grain's etag becomes <c>null</c>). <c>false</c>: keeps the row with
    /// no data and a new etag, as Orleans' Redis provider does by default.</summary>
    /// <value>Defaults to <c>true</c>: cleared grains take no space.</value>
    public bool DeleteStateOnClear { get; set; } = true;

    /// <summary>The serializer for state; <c>null</c> takes the silo's <see cref="IGrainStorageSerializer"/>
    /// (<c>UseSystemTextJsonGrainStorageSerializer()</c>).</summary>
    /// <value>Defaults to <c>null</c>.</value>
    public IGrainStorageSerializer? GrainStorageSerializer { get; set; }

    /// <summary>The silo lifecycle stage at which the file is opened (and after which, on stop, it is closed).</summary>
    /// <value>Defaults to <see cref="ServiceLifecycleStage.ApplicationServices"/>.</value>
    public int InitStage { get; set; } = ServiceLifecycleStage.ApplicationServices;
}
