using System.Globalization;
using ControlPlane.Grains.Storage;
using Microsoft.Data.Sqlite;

namespace ControlPlane.Grains.Sqlite;

/// <summary>Grain state in a SQLite file: the embedded, durable default. One table keyed by (grain type, key) holds the
/// state blob, a version number (the etag) and the fencing epoch; every write is a single conditional statement, so
/// the etag and epoch checks and the write are atomic. WAL mode lets reads proceed during writes.</summary>
public sealed class SqliteGrainStorage : IGrainStorage, IAsyncDisposable, IDisposable
{
    private const string Schema = """
        CREATE TABLE IF NOT EXISTS grain_state (
            grain_type TEXT    NOT NULL,
            grain_key  TEXT    NOT NULL,
            data       BLOB    NULL,
            etag       INTEGER NOT NULL,
            epoch      INTEGER NOT NULL,
            PRIMARY KEY (grain_type, grain_key)
        ) WITHOUT ROWID;
        """;

    // Insert for never-written state; a no-op (no row returned) when the row exists.
    private const string InsertSql = """
        INSERT INTO grain_state (grain_type, grain_key, data, etag, epoch) VALUES (@type, @key, @data, 1, @epoch)
        ON CONFLICT (grain_type, grain_key) DO NOTHING
        RETURNING etag;
        """;

    // Compare-and-swap: only the holder of the current etag with a current-or-newer epoch gets a row back. A cleared
    // row (data NULL) has no etag to hold, so it is updated by writers that expected none.
    private const string UpdateSql = """
        UPDATE grain_state SET data = @data, etag = etag + 1, epoch = @epoch
        WHERE grain_type = @type AND grain_key = @key AND epoch <= @epoch
          AND ((@etag IS NULL AND data IS NULL) OR (data IS NOT NULL AND etag = @etag))
        RETURNING etag;
        """;

    private const string ReadSql = "SELECT data, etag, epoch FROM grain_state WHERE grain_type = @type AND grain_key = @key;";

    private readonly SqliteConnection _connection;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private bool _disposed;

    /// <summary>Opens (creating when missing) the database and its schema.</summary>
    public SqliteGrainStorage(SqliteGrainStorageOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var builder = new SqliteConnectionStringBuilder
        {
            DataSource = options.Path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = false,
            DefaultTimeout = (int)Math.Ceiling(options.BusyTimeout.TotalSeconds),
        };

        // One connection, used by one statement at a time: SQLite serializes writers anyway, and a single connection
        // avoids SQLITE_BUSY between our own statements.
        _connection = new SqliteConnection(builder.ToString());
        try
        {
            _connection.Open();
            Execute(string.Create(CultureInfo.InvariantCulture,
                $"PRAGMA journal_mode=WAL; PRAGMA synchronous={(options.SyncEveryCommit ? "FULL" : "NORMAL")}; PRAGMA busy_timeout={(long)options.BusyTimeout.TotalMilliseconds};"));
            Execute(Schema);
        }
        catch
        {
            _connection.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public async ValueTask<GrainStateRecord?> ReadAsync(GrainId grainId, CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return ReadLocked(grainId);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <inheritdoc />
    public async ValueTask<string> WriteAsync(GrainId grainId, ReadOnlyMemory<byte> state, string? expectedETag, long epoch, CancellationToken cancellationToken = default)
    {
        var etag = await SwapAsync(grainId, state.ToArray(), expectedETag, epoch, cancellationToken);
        return etag.ToString(CultureInfo.InvariantCulture);
    }

    /// <inheritdoc />
    public async ValueTask ClearAsync(GrainId grainId, string? expectedETag, long epoch, CancellationToken cancellationToken = default) =>
        await SwapAsync(grainId, null, expectedETag, epoch, cancellationToken);

    /// <summary>Checkpoints the WAL into the main file and closes the database.</summary>
    public async ValueTask DisposeAsync()
    {
        await _gate.WaitAsync();
        try
        {
            CloseLocked();
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Checkpoints the WAL into the main file and closes the database.</summary>
    public void Dispose()
    {
        _gate.Wait();
        try
        {
            CloseLocked();
        }
        finally
        {
            _gate.Release();
        }
    }

    private void CloseLocked()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        try
        {
            Execute("PRAGMA wal_checkpoint(TRUNCATE);");
        }
        finally
        {
            _connection.Dispose();
        }
    }

    private async ValueTask<long> SwapAsync(GrainId grainId, byte[]? data, string? expectedETag, long epoch, CancellationToken cancellationToken)
    {
        long? expected = null;
        if (expectedETag is not null)
        {
            if (!long.TryParse(expectedETag, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed))
            {
                // Not an etag this provider ever issued, so it cannot match.
                throw new GrainStorageConflictException(grainId, expectedETag, ReadLockedSafe(grainId)?.ETag);
            }

            expected = parsed;
        }

        await _gate.WaitAsync(cancellationToken);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            // Never-written state: insert (a clear inserts a tombstone so the epoch is remembered).
            if (expected is null && Scalar(InsertSql, grainId, data, null, epoch) is long inserted)
            {
                return inserted;
            }

            if (Scalar(UpdateSql, grainId, data, expected, epoch) is long updated)
            {
                return updated;
            }

            // The statement touched nothing: say why, fencing first (a zombie must learn it is one).
            var current = ReadLocked(grainId);
            if (current is not null && current.Epoch > epoch)
            {
                throw new GrainFencedException(grainId, epoch, current.Epoch);
            }

            throw new GrainStorageConflictException(grainId, expectedETag, current?.ETag);
        }
        finally
        {
            _gate.Release();
        }
    }

    private GrainStateRecord? ReadLockedSafe(GrainId grainId)
    {
        _gate.Wait();
        try
        {
            return _disposed ? null : ReadLocked(grainId);
        }
        finally
        {
            _gate.Release();
        }
    }

    private GrainStateRecord? ReadLocked(GrainId grainId)
    {
        using var command = _connection.CreateCommand();
        command.CommandText = ReadSql;
        command.Parameters.AddWithValue("@type", grainId.Type);
        command.Parameters.AddWithValue("@key", grainId.Key);
        using var reader = command.ExecuteReader();
        if (!reader.Read())
        {
            return null;
        }

        var cleared = reader.IsDBNull(0);
        ReadOnlyMemory<byte>? data = cleared ? (ReadOnlyMemory<byte>?)null : (byte[])reader.GetValue(0);
        var etag = cleared ? null : reader.GetInt64(1).ToString(CultureInfo.InvariantCulture);
        return new GrainStateRecord(data, etag, reader.GetInt64(2));
    }

    private long? Scalar(string sql, GrainId grainId, byte[]? data, long? etag, long epoch)
    {
        using var command = _connection.CreateCommand();
        command.CommandText = sql;
        command.Parameters.AddWithValue("@type", grainId.Type);
        command.Parameters.AddWithValue("@key", grainId.Key);
        command.Parameters.Add("@data", SqliteType.Blob).Value = (object?)data ?? DBNull.Value;
        command.Parameters.AddWithValue("@etag", (object?)etag ?? DBNull.Value);
        command.Parameters.AddWithValue("@epoch", epoch);
        var result = command.ExecuteScalar();
        return result is null or DBNull ? null : Convert.ToInt64(result, CultureInfo.InvariantCulture);
    }

    private void Execute(string sql)
    {
        using var command = _connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
