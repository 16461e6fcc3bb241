using Microsoft.Extensions.Logging;

namespace ControlPlane.Redis.Connection;

/// <summary>Keeps one logical connection alive: opens a socket, runs a session on it until it
/// breaks, then reconnects with backoff, raising state changes. The session owns what was in
/// flight on the broken socket; the supervisor never replays anything.</summary>
internal sealed class ConnectionSupervisor : IAsyncDisposable
{
    private readonly Func<CancellationToken, Task<PhysicalConnection>> _open;
    private readonly Func<PhysicalConnection, CancellationToken, Task> _prepare;
    private readonly Func<PhysicalConnection, Task<Exception?>> _session;
    private readonly ReconnectBackoff _backoff;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly string _role;
    private readonly string _endpoint;
    private readonly CancellationTokenSource _stopping = new();
    private readonly TaskCompletionSource _firstConnection = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task _run = Task.CompletedTask;
    private int _state = (int)RedisConnectionState.Disconnected;
    private int _disposed;

    public ConnectionSupervisor(
        string role,
        string endpoint,
        Func<CancellationToken, Task<PhysicalConnection>> open,
        Func<PhysicalConnection, CancellationToken, Task> prepare,
        Func<PhysicalConnection, Task<Exception?>> session,
        ReconnectBackoff backoff,
        TimeProvider time,
        ILogger logger)
    {
        _role = role;
        _endpoint = endpoint;
        _open = open;
        _prepare = prepare;
        _session = session;
        _backoff = backoff;
        _time = time;
        _logger = logger;
    }

    public event EventHandler<RedisConnectionStateChangedEventArgs>? StateChanged;

    public RedisConnectionState State => (RedisConnectionState)Volatile.Read(ref _state);

    /// <summary>Why the last attempt or session failed, for fail-fast errors.</summary>
    public Exception? LastError { get; private set; }

    /// <summary>Completes on the first successful connection; faults with the first attempt's error.</summary>
    public Task FirstConnection => _firstConnection.Task;

    public object? Sender { get; set; }

    public void Start() => _run = Task.Run(RunAsync);

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        await _run.ConfigureAwait(false);
        _stopping.Dispose();
    }

    private async Task RunAsync()
    {
        var failures = 0;
        var stopping = _stopping.Token;
        while (!stopping.IsCancellationRequested)
        {
            PhysicalConnection connection;
            try
            {
                connection = await _open(stopping).ConfigureAwait(false);
                await PrepareAsync(connection, stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                failures++;
                LastError = ex;
                _firstConnection.TrySetException(ex);
                var delay = _backoff.Delay(failures);
                Log.ConnectFailed(_logger, _role, _endpoint, failures, delay.TotalMilliseconds, ex);
                if (!await DelayAsync(delay, stopping).ConfigureAwait(false))
                {
                    break;
                }

                continue;
            }

            failures = 0;
            LastError = null;
            SetState(RedisConnectionState.Connected, null);
            Log.Connected(_logger, _role, _endpoint);
            _firstConnection.TrySetResult();

            Exception? error;
            using (stopping.UnsafeRegister(static c => ((PhysicalConnection)c!).Abort(), connection))
            {
                try
                {
                    error = await _session(connection).ConfigureAwait(false);
                }
#pragma warning disable CA1031 // Whatever ended the session, the loop must live on to reconnect.
                catch (Exception ex)
#pragma warning restore CA1031
                {
                    error = ex;
                }
            }

            await connection.DisposeAsync().ConfigureAwait(false);
            if (stopping.IsCancellationRequested)
            {
                break;
            }

            LastError = error;
            SetState(RedisConnectionState.Disconnected, error);
            Log.ConnectionLost(_logger, _role, _endpoint, error);

            // A session that ended counts as one failure: the first reconnect waits the minimum delay,
            // so a server that accepts and drops at once is not hammered in a tight loop.
            failures = 1;
            if (!await DelayAsync(_backoff.Delay(failures), stopping).ConfigureAwait(false))
            {
                break;
            }
        }

        _firstConnection.TrySetException(new ObjectDisposedException(_role, "The Redis connection was disposed before it connected."));
        SetState(RedisConnectionState.Disposed, null);
    }

    private async Task PrepareAsync(PhysicalConnection connection, CancellationToken stopping)
    {
        try
        {
            await _prepare(connection, stopping).ConfigureAwait(false);
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private async Task<bool> DelayAsync(TimeSpan delay, CancellationToken stopping)
    {
        try
        {
            await Task.Delay(delay, _time, stopping).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private void SetState(RedisConnectionState state, Exception? error)
    {
        Volatile.Write(ref _state, (int)state);
        try
        {
            StateChanged?.Invoke(Sender ?? this, new RedisConnectionStateChangedEventArgs(state, error));
        }
#pragma warning disable CA1031 // A subscriber's bug must not stop the reconnect loop.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Log.StateHandlerFailed(_logger, _role, ex);
        }
    }
}
