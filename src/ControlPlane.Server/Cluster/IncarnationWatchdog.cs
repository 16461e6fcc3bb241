using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace ControlPlane.Server.Cluster;

/// <summary>Watches the cluster's incarnation marker in Redis, so a node whose Redis lost its data (restarted empty,
/// flushed, failed over to an empty replica) learns that its cluster is dead instead of running on beside a second
/// cluster formed by nodes that joined afterwards (split brain, <c>docs/cluster-incarnation.md</c>).</summary>
/// <remarks>
/// One instance watches one incarnation of one silo: <see cref="JoinAsync"/> once the silo has joined, then a check
/// every <see cref="IncarnationWatchdogOptions.CheckPeriod"/>. A loss is raised once, through
/// <see cref="IncarnationLost"/> and <see cref="Lost"/>; the host then restarts the node, with a new watchdog.
/// When Redis does not answer, nothing is concluded (fail-static): storage being unreachable never restarts a node.
/// The multiplexer is shared and not disposed here.
/// </remarks>
internal sealed partial class IncarnationWatchdog : IAsyncDisposable
{
    // Between two founding attempts in JoinAsync (the marker vanished between SET NX and GET).
    private static readonly TimeSpan JoinRetryDelay = TimeSpan.FromMilliseconds(50);

    private readonly IConnectionMultiplexer _redis;
    private readonly IncarnationWatchdogOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly RedisKey _incarnationKey;
    private readonly RedisKey? _membershipKey;
    private readonly TaskCompletionSource<IncarnationLoss> _lost = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _lostSignal = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly object _gate = new();
    private string? _incarnation;
    private bool _founder;
    private bool _joining;
    private DateTimeOffset? _lastConfirmed;
    private int _consecutiveFailures;
    private long _lastUnreachableLog;
    private Task? _loop;
    private int _disposed;

    /// <summary>Creates a watchdog; throws <see cref="OptionsValidationException"/> when the options are invalid.</summary>
    public IncarnationWatchdog(
        IConnectionMultiplexer redis,
        IOptions<IncarnationWatchdogOptions> options,
        TimeProvider timeProvider,
        ILogger<IncarnationWatchdog> logger)
    {
        ArgumentNullException.ThrowIfNull(redis);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(logger);
        var value = options.Value;
        var validation = new IncarnationWatchdogOptionsValidator().Validate(Options.DefaultName, value);
        if (validation.Failed)
        {
            throw new OptionsValidationException(Options.DefaultName, typeof(IncarnationWatchdogOptions), validation.Failures);
        }

        _redis = redis;
        _options = value;
        _time = timeProvider;
        _logger = logger;
        _incarnationKey = value.IncarnationKey;
        _membershipKey = value.MembershipKey is { } members ? new RedisKey(members) : (RedisKey?)null;
    }

    /// <summary>This node's incarnation, once <see cref="JoinAsync"/> has completed; null before.</summary>
    public string? Incarnation
    {
        get
        {
            lock (_gate)
            {
                return _incarnation;
            }
        }
    }

    /// <summary>True when this node founded its incarnation (its <c>SET NX</c> won); false when it adopted one.</summary>
    public bool IsFounder
    {
        get
        {
            lock (_gate)
            {
                return _founder;
            }
        }
    }

    /// <summary>When Redis last confirmed this node's incarnation (the join, then each good check); null before the join.
    /// It stops advancing while Redis does not answer.</summary>
    public DateTimeOffset? LastConfirmed
    {
        get
        {
            lock (_gate)
            {
                return _lastConfirmed;
            }
        }
    }

    /// <summary>Checks in a row that Redis did not answer; 0 after a good check.</summary>
    public int ConsecutiveFailures
    {
        get
        {
            lock (_gate)
            {
                return _consecutiveFailures;
            }
        }
    }

    /// <summary>Completes once, when a check finds this node's incarnation dead. It stays pending while the incarnation
    /// lives, also after <see cref="StopAsync"/>.</summary>
    public Task<IncarnationLoss> IncarnationLost => _lost.Task;

    /// <summary>Cancelled once, when the incarnation is found dead (after <see cref="IncarnationLost"/> completes);
    /// for hosts that link it into their own tokens. Callbacks that throw are logged, not propagated.</summary>
    public CancellationToken Lost => _lostSignal.Token;

    /// <summary>True once the incarnation is found dead.</summary>
    public bool IsLost => _lost.Task.IsCompleted;

    /// <summary>Founds the cluster's incarnation (<c>SET key guid NX</c>) or adopts the existing one (<c>GET key</c>), then
    /// starts the checks. Call it once the silo has joined the cluster; once per watchdog.</summary>
    /// <returns>This node's incarnation.</returns>
    /// <exception cref="TimeoutException">Redis did not answer within <see cref="IncarnationWatchdogOptions.JoinTimeout"/>.</exception>
    public async Task<string> JoinAsync(CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            if (_incarnation is not null || _joining)
            {
                throw new InvalidOperationException("The watchdog has joined already; a node that rejoins uses a new watchdog.");
            }

            _joining = true;
        }

        try
        {
            var (incarnation, founded) = await FoundOrAdoptAsync(cancellationToken).ConfigureAwait(false);
            lock (_gate)
            {
                _incarnation = incarnation;
                _founder = founded;
                _lastConfirmed = _time.GetUtcNow();
                _loop = Task.Run(() => WatchAsync(_stopping.Token), CancellationToken.None);
            }

            if (founded)
            {
                LogFounded(_logger, incarnation, _options.IncarnationKey);
            }
            else
            {
                LogAdopted(_logger, incarnation, _options.IncarnationKey);
            }

            return incarnation;
        }
        finally
        {
            lock (_gate)
            {
                _joining = false;
            }
        }
    }

    /// <summary>Checks once: reads the marker (and the membership table's existence), within
    /// <see cref="IncarnationWatchdogOptions.CheckTimeout"/>. Raises the loss when found; the loop calls it every period.</summary>
    public async Task<IncarnationCheckResult> CheckAsync(CancellationToken cancellationToken = default)
    {
        var incarnation = Incarnation ?? throw new InvalidOperationException("JoinAsync has not completed.");
        if (IsLost)
        {
            return IncarnationCheckResult.Lost;
        }

        Task<RedisValue>? marker = null;
        Task<bool>? members = null;
        Task? both = null;
        try
        {
            var database = _redis.GetDatabase();
            marker = database.StringGetAsync(_incarnationKey);
            members = _membershipKey is { } membershipKey ? database.KeyExistsAsync(membershipKey) : null;
            both = members is null ? marker : Task.WhenAll(marker, members);
            await both.WaitAsync(_options.CheckTimeout, _time, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            Observe(both);
            throw;
        }
        catch (Exception error)
        {
            // Timeout, connection refused, LOADING, paused: Redis said nothing about the incarnation.
            Observe(both);
            OnUnreachable(error);
            return IncarnationCheckResult.Unreachable;
        }

        var now = _time.GetUtcNow();
        var value = marker.Result;
        IncarnationLoss? loss = value.IsNull
            ? new IncarnationLoss(incarnation, IncarnationLossReason.MarkerMissing, null, now)
            : !string.Equals(value.ToString(), incarnation, StringComparison.Ordinal)
                ? new IncarnationLoss(incarnation, IncarnationLossReason.MarkerChanged, value.ToString(), now)
                : members is { Result: false }
                    ? new IncarnationLoss(incarnation, IncarnationLossReason.MembershipTableMissing, null, now)
                    : null;

        int failures;
        lock (_gate)
        {
            failures = _consecutiveFailures;
            _consecutiveFailures = 0;
            if (loss is null)
            {
                _lastConfirmed = now;
            }
        }

        if (failures > 0)
        {
            LogAnsweringAgain(_logger, failures);
        }

        if (loss is null)
        {
            return IncarnationCheckResult.Confirmed;
        }

        RaiseLost(loss);
        return IncarnationCheckResult.Lost;
    }

    /// <summary>Raises the loss for a silo the cluster declared dead (<see cref="DeclaredDeadHandler"/>): the host then
    /// stops this silo and joins again as a new one, as after a lost incarnation. Once, like any loss.</summary>
    /// <param name="reason">What Orleans said.</param>
    public void ReportDeclaredDead(string reason)
    {
        ArgumentNullException.ThrowIfNull(reason);
        RaiseLost(new IncarnationLoss(Incarnation ?? "(not joined)", IncarnationLossReason.DeclaredDead, reason, _time.GetUtcNow()));
    }

    /// <summary>Stops the checks (a raised loss stays raised). The multiplexer is left open.</summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        Task? loop;
        lock (_gate)
        {
            loop = _loop;
        }

        // Still readable after DisposeAsync, which cancelled it already.
        if (!_stopping.IsCancellationRequested)
        {
            await _stopping.CancelAsync().ConfigureAwait(false);
        }
        if (loop is not null)
        {
            await loop.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Stops the checks.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await StopAsync().ConfigureAwait(false);
        _stopping.Dispose();
    }

    private async Task<(string Incarnation, bool Founded)> FoundOrAdoptAsync(CancellationToken cancellationToken)
    {
        using var timeout = new CancellationTokenSource(_options.JoinTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        Exception? lastError = null;
        while (true)
        {
            try
            {
                var database = _redis.GetDatabase();
                var candidate = Guid.NewGuid().ToString("N");
                var set = await database.StringSetAsync(_incarnationKey, candidate, when: When.NotExists)
                    .WaitAsync(linked.Token).ConfigureAwait(false);
                var read = await database.StringGetAsync(_incarnationKey).WaitAsync(linked.Token).ConfigureAwait(false);
                if (!read.IsNull)
                {
                    var incarnation = read.ToString();
                    return (incarnation, set && string.Equals(incarnation, candidate, StringComparison.Ordinal));
                }

                // Flushed between SET NX and GET: found again.
                await Task.Delay(JoinRetryDelay, _time, linked.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException(
                    $"Could not found or adopt the cluster incarnation at '{_options.IncarnationKey}' within {_options.JoinTimeout}.", lastError);
            }
            catch (Exception error) when (error is RedisException or TimeoutException)
            {
                lastError = error;
                LogJoinRetry(_logger, _options.IncarnationKey, error);
                try
                {
                    await Task.Delay(JoinRetryDelay, _time, linked.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
                {
                    throw new TimeoutException(
                        $"Could not found or adopt the cluster incarnation at '{_options.IncarnationKey}' within {_options.JoinTimeout}.", lastError);
                }
            }
        }
    }

    private async Task WatchAsync(CancellationToken stopping)
    {
        while (!stopping.IsCancellationRequested && !IsLost)
        {
            try
            {
                await Task.Delay(_options.CheckPeriod, _time, stopping).ConfigureAwait(false);
                await CheckAsync(stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
            catch (Exception error)
            {
                // The loop outlives any bug in one check.
                LogCheckFailed(_logger, error);
            }
        }
    }

    private void OnUnreachable(Exception error)
    {
        int failures;
        DateTimeOffset? lastConfirmed;
        bool log;
        lock (_gate)
        {
            failures = ++_consecutiveFailures;
            lastConfirmed = _lastConfirmed;
            var now = _time.GetTimestamp();
            log = failures == 1 || _time.GetElapsedTime(_lastUnreachableLog, now) >= _options.UnreachableLogInterval;
            if (log)
            {
                _lastUnreachableLog = now;
            }
        }

        if (log)
        {
            LogUnreachable(_logger, failures, lastConfirmed, error);
        }
    }

    private void RaiseLost(IncarnationLoss loss)
    {
        if (!_lost.TrySetResult(loss))
        {
            return;
        }

        LogLost(_logger, loss.Incarnation, loss.Reason, loss.Found);
        try
        {
            _lostSignal.Cancel();
        }
        catch (AggregateException error)
        {
            LogLostHandlerFailed(_logger, error);
        }
    }

    // A check abandoned at its timeout still completes later; observe its fault.
    private static void Observe(Task? task) =>
        task?.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Founded cluster incarnation {Incarnation} at {Key}")]
    private static partial void LogFounded(ILogger logger, string incarnation, string key);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "Adopted cluster incarnation {Incarnation} at {Key}")]
    private static partial void LogAdopted(ILogger logger, string incarnation, string key);

    [LoggerMessage(EventId = 3, Level = LogLevel.Warning, Message = "Could not found or adopt the cluster incarnation at {Key}; retrying")]
    private static partial void LogJoinRetry(ILogger logger, string key, Exception error);

    [LoggerMessage(EventId = 4, Level = LogLevel.Warning, Message = "Redis did not answer the incarnation check ({Failures} in a row, last confirmed {LastConfirmed}); the node keeps serving")]
    private static partial void LogUnreachable(ILogger logger, int failures, DateTimeOffset? lastConfirmed, Exception error);

    [LoggerMessage(EventId = 5, Level = LogLevel.Information, Message = "Redis answers the incarnation check again after {Failures} unanswered checks")]
    private static partial void LogAnsweringAgain(ILogger logger, int failures);

    [LoggerMessage(EventId = 6, Level = LogLevel.Critical, Message = "Cluster incarnation {Incarnation} is dead ({Reason}; Redis holds {Found}): this node must restart into the current incarnation")]
    private static partial void LogLost(ILogger logger, string incarnation, IncarnationLossReason reason, string? found);

    [LoggerMessage(EventId = 7, Level = LogLevel.Error, Message = "A handler of the incarnation loss threw")]
    private static partial void LogLostHandlerFailed(ILogger logger, Exception error);

    [LoggerMessage(EventId = 8, Level = LogLevel.Error, Message = "An incarnation check failed unexpectedly; the watchdog keeps checking")]
    private static partial void LogCheckFailed(ILogger logger, Exception error);
}
