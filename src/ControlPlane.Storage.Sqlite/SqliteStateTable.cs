using System.Globalization;
using Microsoft.Data.Sqlite;

namespace ControlPlane.Storage.Sqlite;

/// <summary>A row of <see cref="SqliteStateTable"/>: the serialized state (<c>null</c> when cleared but kept) and its etag.</summary>
internal readonly record struct StoredState(byte[]? Data, string ETag);

/// <summary>The SQLite side of the provider: one table of (state name, grain id) → (etag, data), compare-and-swap
/// writes, and the checkpointing that keeps the file small. Bytes in, bytes out; no Orleans types.</summary>
/// <remarks>One writer connection behind an async gate (SQLite has one writer anyway, and one connection means our own
/// statements never meet SQLITE_BUSY); reads use pooled read-only connections, which WAL lets run during a write.
/// Microsoft.Data.Sqlite's async methods complete synchronously, so the waiting is async and the statements are short
/// synchronous calls (one row, one fsync).</remarks>
internal sealed class SqliteStateTable : IDisposable
{
    internal const string TableName = "grain_storage";

    private const string Schema = $"""
        CREATE TABLE IF NOT EXISTS {TableName} (
            state_name    TEXT    NOT NULL,
            grain_id      TEXT    NOT NULL,
            etag          TEXT    NOT NULL,
            data          BLOB    NULL,
            updated_at_ms INTEGER NOT NULL,
            PRIMARY KEY (state_name, grain_id)
        );
        """;

    // First writer wins: the insert is a no-op (0 rows) when any row exists.
    private const string InsertSql = $"""
        INSERT INTO {TableName} (state_name, grain_id, etag, data, updated_at_ms) VALUES (@state, @grain, @new, @data, @now)
        ON CONFLICT (state_name, grain_id) DO NOTHING;
        """;

    private const string UpdateSql = $"""
        UPDATE {TableName} SET etag = @new, data = @data, updated_at_ms = @now
        WHERE state_name = @state AND grain_id = @grain AND etag = @expected;
        """;

    private const string DeleteSql = $"DELETE FROM {TableName} WHERE state_name = @state AND grain_id = @grain AND etag = @expected;";

    private const string ReadSql = $"SELECT data, etag FROM {TableName} WHERE state_name = @state AND grain_id = @grain;";

    private readonly SqliteConnection _writer;
    private readonly string _readConnectionString;
    private readonly SemaphoreSlim _writeGate = new(1, 1);
    private readonly TimeProvider _timeProvider;
    private readonly int _checkpointAfterWrites;
    private readonly Action<Exception> _onCheckpointFailed;
    private int _writesSinceCheckpoint;
    private bool _disposed;

    private SqliteStateTable(
        SqliteConnection writer, string readConnectionString, TimeProvider timeProvider, int checkpointAfterWrites, Action<Exception> onCheckpointFailed)
    {
        _onCheckpointFailed = onCheckpointFailed;
        _writer = writer;
        _readConnectionString = readConnectionString;
        _timeProvider = timeProvider;
        _checkpointAfterWrites = checkpointAfterWrites;
    }

    /// <summary>The database file.</summary>
    public required string Path { get; init; }

    /// <summary>Writes and clears since the last checkpoint.</summary>
    public int PendingWrites => Volatile.Read(ref _writesSinceCheckpoint);

    /// <summary>Opens (creating when missing) the file, sets WAL and durability, and creates the table.</summary>
    /// <param name="options">Validated options.</param>
    /// <param name="timeProvider">Stamps <c>updated_at_ms</c>.</param>
    /// <param name="onCheckpointFailed">Told when a checkpoint after a write fails; the write itself stands.</param>
    public static SqliteStateTable Open(SqliteGrainStorageOptions options, TimeProvider timeProvider, Action<Exception> onCheckpointFailed)
    {
        var fullPath = System.IO.Path.GetFullPath(options.Path);
        var directory = System.IO.Path.GetDirectoryName(fullPath);
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }

        var timeoutSeconds = (int)Math.Ceiling(options.BusyTimeout.TotalSeconds);
        var writerConnectionString = new SqliteConnectionStringBuilder
        {
            DataSource = fullPath,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = false,
            DefaultTimeout = timeoutSeconds,
        }.ToString();
        var readConnectionString = new SqliteConnectionStringBuilder
        {
            DataSource = fullPath,
            Mode = SqliteOpenMode.ReadOnly,
            Pooling = true,
            DefaultTimeout = timeoutSeconds,
        }.ToString();

        var writer = new SqliteConnection(writerConnectionString);
        try
        {
            writer.Open();
            // auto_vacuum only takes effect before the first table exists (a new file): freed pages can then be
            // returned to the file system at checkpoints, after clears delete rows.
            Execute(writer, "PRAGMA auto_vacuum=INCREMENTAL;");
            Execute(writer, string.Create(CultureInfo.InvariantCulture, $"""
                PRAGMA journal_mode=WAL;
                PRAGMA synchronous={(options.SyncEveryCommit ? "FULL" : "NORMAL")};
                PRAGMA busy_timeout={(long)options.BusyTimeout.TotalMilliseconds};
                PRAGMA journal_size_limit={options.JournalSizeLimitBytes};
                """));
            Execute(writer, Schema);
            return new SqliteStateTable(writer, readConnectionString, timeProvider, options.CheckpointAfterWrites, onCheckpointFailed) { Path = fullPath };
        }
        catch
        {
            writer.Dispose();
            throw;
        }
    }

    /// <summary>Reads one row; <c>null</c> when there is none.</summary>
    public async Task<StoredState?> ReadAsync(string stateName, string grainId, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        await using var connection = new SqliteConnection(_readConnectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        return ReadRow(connection, stateName, grainId);
    }

    /// <summary>Stores <paramref name="data"/> with <paramref name="newETag"/> if the row's etag is
    /// <paramref name="expectedETag"/> (<c>null</c>: the row must not exist). On a mismatch nothing changes and the
    /// row's current etag is returned.</summary>
    public async Task<(bool Written, string? CurrentETag)> WriteAsync(
        string stateName, string grainId, byte[]? data, string? expectedETag, string newETag, CancellationToken cancellationToken)
    {
        await _writeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            using var command = _writer.CreateCommand();
            command.CommandText = expectedETag is null ? InsertSql : UpdateSql;
            AddKey(command, stateName, grainId);
            command.Parameters.AddWithValue("@new", newETag);
            command.Parameters.Add("@data", SqliteType.Blob).Value = (object?)data ?? DBNull.Value;
            command.Parameters.AddWithValue("@now", _timeProvider.GetUtcNow().ToUnixTimeMilliseconds());
            if (expectedETag is not null)
            {
                command.Parameters.AddWithValue("@expected", expectedETag);
            }

            return command.ExecuteNonQuery() == 1 ? (true, newETag) : (false, ReadRow(_writer, stateName, grainId)?.ETag);
        }
        finally
        {
            AfterWriteLocked();
            _writeGate.Release();
        }
    }

    /// <summary>Deletes the row if its etag is <paramref name="expectedETag"/>; with <c>null</c> the row must not
    /// exist (nothing to delete). On a mismatch nothing changes and the row's current etag is returned.</summary>
    public async Task<(bool Deleted, string? CurrentETag)> DeleteAsync(
        string stateName, string grainId, string? expectedETag, CancellationToken cancellationToken)
    {
        await _writeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (expectedETag is null)
            {
                var current = ReadRow(_writer, stateName, grainId)?.ETag;
                return (current is null, current);
            }

            using var command = _writer.CreateCommand();
            command.CommandText = DeleteSql;
            AddKey(command, stateName, grainId);
            command.Parameters.AddWithValue("@expected", expectedETag);
            return command.ExecuteNonQuery() == 1 ? (true, null) : (false, ReadRow(_writer, stateName, grainId)?.ETag);
        }
        finally
        {
            AfterWriteLocked();
            _writeGate.Release();
        }
    }

    /// <summary>Copies the log into the database, returns freed pages to the file system and truncates the log to
    /// zero bytes. Returns <c>false</c> when a reader kept SQLite from truncating (it is retried next time).</summary>
    public async Task<bool> CheckpointAsync(CancellationToken cancellationToken)
    {
        await _writeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return !_disposed && CheckpointLocked();
        }
        finally
        {
            _writeGate.Release();
        }
    }

    /// <summary>Checkpoints and closes the file (the log is left empty, the read pool emptied).</summary>
    public void Dispose()
    {
        _writeGate.Wait();
        try
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            try
            {
                CheckpointLocked();
            }
            finally
            {
                _writer.Dispose();
                using var reader = new SqliteConnection(_readConnectionString);
                SqliteConnection.ClearPool(reader);
            }
        }
        finally
        {
            _writeGate.Release();
        }
    }

    private void AfterWriteLocked()
    {
        // Counted even when a statement failed: it may have written to the log.
        if (_disposed || Interlocked.Increment(ref _writesSinceCheckpoint) < _checkpointAfterWrites)
        {
            return;
        }

        try
        {
            CheckpointLocked();
        }
        catch (SqliteException ex)
        {
            // The write has committed; a failed checkpoint only delays shrinking the log.
            _onCheckpointFailed(ex);
        }
    }

    private bool CheckpointLocked()
    {
        Volatile.Write(ref _writesSinceCheckpoint, 0);
        Execute(_writer, "PRAGMA incremental_vacuum;");
        using var command = _writer.CreateCommand();
        command.CommandText = "PRAGMA wal_checkpoint(TRUNCATE);";
        using var reader = command.ExecuteReader();
        // One row: (busy, log frames, checkpointed frames); busy = 1 when a reader held the log.
        return reader.Read() && reader.GetInt64(0) == 0;
    }

    private static StoredState? ReadRow(SqliteConnection connection, string stateName, string grainId)
    {
        using var command = connection.CreateCommand();
        command.CommandText = ReadSql;
        AddKey(command, stateName, grainId);
        using var reader = command.ExecuteReader();
        if (!reader.Read())
        {
            return null;
        }

        var data = reader.IsDBNull(0) ? null : (byte[])reader.GetValue(0);
        return new StoredState(data, reader.GetString(1));
    }

    private static void AddKey(SqliteCommand command, string stateName, string grainId)
    {
        command.Parameters.AddWithValue("@state", stateName);
        command.Parameters.AddWithValue("@grain", grainId);
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
