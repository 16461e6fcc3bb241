using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Orleans;
using Orleans.Configuration;
using Orleans.Runtime;
using Orleans.Serialization.Serializers;
using Orleans.Storage;

namespace ControlPlane.Storage.Sqlite;

/// <summary>Durable Orleans grain storage in one SQLite file: one row per (state name, grain id) holding the serialized
/// state and an etag; every write and clear is a compare-and-swap on that etag (a mismatch throws
/// <see cref="InconsistentStateException"/>; an expected etag of <c>null</c> means "must not exist", so the first writer
/// wins). WAL journal with <c>synchronous=FULL</c>; the log is checkpointed and truncated on a timer and after every
/// <see cref="SqliteGrainStorageOptions.CheckpointAfterWrites"/> writes, so the files stay the size of the live state.</summary>
public sealed partial class SqliteGrainStorage : IGrainStorage, ILifecycleParticipant<ISiloLifecycle>, IDisposable, IAsyncDisposable
{
    private readonly string _name;
    private readonly SqliteGrainStorageOptions _options;
    private readonly IGrainStorageSerializer _serializer;
    private readonly IActivatorProvider _activatorProvider;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly Lock _openLock = new();
    private SqliteStateTable? _table;
    private ITimer? _checkpointTimer;
    private int _checkpointRunning;
    private bool _disposed;

    /// <summary>Creates the provider; the file is opened at <see cref="SqliteGrainStorageOptions.InitStage"/> or on
    /// first use, whichever comes first.</summary>
    /// <param name="name">The provider name (for messages and logs).</param>
    /// <param name="options">Settings; validated here.</param>
    /// <param name="serializer">Used unless <see cref="SqliteGrainStorageOptions.GrainStorageSerializer"/> is set.</param>
    /// <param name="activatorProvider">Creates the default state of grains with no stored row.</param>
    /// <param name="timeProvider">Drives the checkpoint timer and stamps rows.</param>
    /// <param name="logger">Logger; <c>null</c> for none.</param>
    public SqliteGrainStorage(
        string name,
        SqliteGrainStorageOptions options,
        IGrainStorageSerializer serializer,
        IActivatorProvider activatorProvider,
        TimeProvider? timeProvider = null,
        ILogger<SqliteGrainStorage>? logger = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(activatorProvider);
        SqliteGrainStorageOptionsValidator.ThrowIfInvalid(name, options);
        _name = name;
        _options = options;
        _serializer = options.GrainStorageSerializer ?? serializer ?? throw new ArgumentNullException(nameof(serializer));
        _activatorProvider = activatorProvider;
        _timeProvider = timeProvider ?? TimeProvider.System;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    /// <summary>The database file as given in the options.</summary>
    public string Path => _options.Path;

    /// <summary>Builds the provider from the silo's services (the factory given to <c>AddGrainStorage</c>).</summary>
    internal static SqliteGrainStorage Create(IServiceProvider services, string name)
    {
        var options = services.GetRequiredService<IOptionsMonitor<SqliteGrainStorageOptions>>().Get(name);
        return new SqliteGrainStorage(
            name,
            options,
            options.GrainStorageSerializer ?? services.GetRequiredService<IGrainStorageSerializer>(),
            services.GetRequiredService<IActivatorProvider>(),
            services.GetService<TimeProvider>(),
            services.GetService<ILogger<SqliteGrainStorage>>());
    }

    /// <inheritdoc />
    public void Participate(ISiloLifecycle lifecycle)
    {
        ArgumentNullException.ThrowIfNull(lifecycle);
        lifecycle.Subscribe(
            OptionFormattingUtilities.Name<SqliteGrainStorage>(_name),
            _options.InitStage,
            _ =>
            {
                // Fail the silo start on a bad path or unreadable file, not the first grain call.
                Table();
                return Task.CompletedTask;
            },
            async _ => await DisposeAsync().ConfigureAwait(false));
    }

    /// <inheritdoc />
    public async Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        ArgumentNullException.ThrowIfNull(grainState);
        StoredState? row;
        try
        {
            row = await Table().ReadAsync(stateName, grainId.ToString(), CancellationToken.None).ConfigureAwait(false);
        }
        catch (SqliteException ex)
        {
            throw Failure("read", stateName, grainId, ex);
        }

        if (row is not { } stored)
        {
            grainState.State = CreateInstance<T>();
            grainState.ETag = null;
            grainState.RecordExists = false;
            return;
        }

        grainState.ETag = stored.ETag;
        if (stored.Data is null)
        {
            // Cleared with DeleteStateOnClear = false: the row keeps only its etag.
            grainState.State = CreateInstance<T>();
            grainState.RecordExists = false;
            return;
        }

        T? state;
        try
        {
            state = _serializer.Deserialize<T>(new BinaryData(stored.Data));
        }
        catch (Exception ex)
        {
            LogCorruptState(ex, _name, stateName, grainId, typeof(T));
            throw new CorruptGrainStateException(stateName, grainId, typeof(T), Table().Path, ex);
        }

        grainState.State = state ?? CreateInstance<T>();
        grainState.RecordExists = true;
    }

    /// <inheritdoc />
    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        ArgumentNullException.ThrowIfNull(grainState);
        var data = _serializer.Serialize(grainState.State).ToArray();
        var newETag = NewETag();
        (bool Written, string? CurrentETag) result;
        try
        {
            result = await Table().WriteAsync(stateName, grainId.ToString(), data, grainState.ETag, newETag, CancellationToken.None)
                .ConfigureAwait(false);
        }
        catch (SqliteException ex)
        {
            throw Failure("write", stateName, grainId, ex);
        }

        if (!result.Written)
        {
            throw Conflict(nameof(WriteStateAsync), stateName, grainId, result.CurrentETag, grainState.ETag);
        }

        grainState.ETag = newETag;
        grainState.RecordExists = true;
    }

    /// <inheritdoc />
    public async Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        ArgumentNullException.ThrowIfNull(grainState);
        string? newETag = null;
        (bool Done, string? CurrentETag) result;
        try
        {
            if (_options.DeleteStateOnClear)
            {
                result = await Table().DeleteAsync(stateName, grainId.ToString(), grainState.ETag, CancellationToken.None).ConfigureAwait(false);
            }
            else
            {
                newETag = NewETag();
                result = await Table().WriteAsync(stateName, grainId.ToString(), null, grainState.ETag, newETag, CancellationToken.None)
                    .ConfigureAwait(false);
            }
        }
        catch (SqliteException ex)
        {
            throw Failure("clear", stateName, grainId, ex);
        }

        if (!result.Done)
        {
            throw Conflict(nameof(ClearStateAsync), stateName, grainId, result.CurrentETag, grainState.ETag);
        }

        grainState.ETag = newETag;
        grainState.State = CreateInstance<T>();
        grainState.RecordExists = false;
    }

    /// <summary>Checkpoints the log into the database and truncates it now (the timer does this on its own).</summary>
    /// <returns><c>false</c> when a concurrent reader kept SQLite from truncating the log.</returns>
    public Task<bool> CheckpointAsync(CancellationToken cancellationToken = default) => Table().CheckpointAsync(cancellationToken);

    /// <summary>Stops the timer, checkpoints and closes the file.</summary>
    public void Dispose()
    {
        SqliteStateTable? table;
        ITimer? timer;
        lock (_openLock)
        {
            _disposed = true;
            (table, _table) = (_table, null);
            (timer, _checkpointTimer) = (_checkpointTimer, null);
        }

        timer?.Dispose();
        table?.Dispose();
    }

    /// <inheritdoc cref="Dispose" />
    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    private SqliteStateTable Table()
    {
        if (Volatile.Read(ref _table) is { } table)
        {
            return table;
        }

        lock (_openLock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_table is null)
            {
                try
                {
                    _table = SqliteStateTable.Open(_options, _timeProvider, ex => LogCheckpointFailed(ex, _name, _options.Path));
                }
                catch (SqliteException ex)
                {
                    throw new SqliteStorageException($"SQLite grain storage '{_name}' could not open {_options.Path}: {ex.Message}", ex);
                }

                _checkpointTimer = _timeProvider.CreateTimer(
                    static s => ((SqliteGrainStorage)s!).OnCheckpointTimer(), this, _options.CheckpointPeriod, _options.CheckpointPeriod);
                LogOpened(_name, _table.Path, _options.SyncEveryCommit, _options.CheckpointPeriod);
            }

            return _table;
        }
    }

    private void OnCheckpointTimer()
    {
        var table = Volatile.Read(ref _table);
        // Idle files are left alone; ticks never overlap.
        if (table is null || table.PendingWrites == 0 || Interlocked.Exchange(ref _checkpointRunning, 1) == 1)
        {
            return;
        }

        _ = CheckpointFromTimerAsync(table);
    }

    private async Task CheckpointFromTimerAsync(SqliteStateTable table)
    {
        try
        {
            await table.CheckpointAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (ObjectDisposedException)
        {
            // Closed meanwhile; closing checkpoints anyway.
        }
        catch (SqliteException ex)
        {
            LogCheckpointFailed(ex, _name, _options.Path);
        }
        finally
        {
            Volatile.Write(ref _checkpointRunning, 0);
        }
    }

    private InconsistentStateException Conflict(string operation, string stateName, GrainId grainId, string? storedETag, string? expectedETag) =>
        new($"Version conflict ({operation}): provider '{_name}' state '{stateName}' grain {grainId}: the grain holds etag "
            + $"'{expectedETag ?? "(none)"}', the stored row has '{storedETag ?? "(none)"}'.", storedETag, expectedETag);

    private SqliteStorageException Failure(string operation, string stateName, GrainId grainId, SqliteException ex)
    {
        LogOperationFailed(ex, operation, _name, stateName, grainId);
        return new SqliteStorageException(
            $"SQLite grain storage '{_name}' failed to {operation} state '{stateName}' of grain {grainId} in {_options.Path}: {ex.Message}", ex);
    }

    private T CreateInstance<T>() => _activatorProvider.GetActivator<T>().Create();

    private static string NewETag() => Guid.NewGuid().ToString("N");

    [LoggerMessage(Level = LogLevel.Information, Message = "SQLite grain storage {Name} opened {Path} (synchronous FULL: {SyncEveryCommit}, checkpoint every {CheckpointPeriod})")]
    private partial void LogOpened(string name, string path, bool syncEveryCommit, TimeSpan checkpointPeriod);

    [LoggerMessage(Level = LogLevel.Error, Message = "SQLite grain storage {Name}: stored state {StateName} of grain {GrainId} cannot be read as {StateType}")]
    private partial void LogCorruptState(Exception exception, string name, string stateName, GrainId grainId, Type stateType);

    [LoggerMessage(Level = LogLevel.Error, Message = "SQLite grain storage: {Operation} failed for provider {Name}, state {StateName}, grain {GrainId}")]
    private partial void LogOperationFailed(Exception exception, string operation, string name, string stateName, GrainId grainId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "SQLite grain storage {Name}: checkpoint of {Path} failed; retried later")]
    private partial void LogCheckpointFailed(Exception exception, string name, string path);
}
