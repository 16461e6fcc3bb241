using System.Globalization;
using ControlPlane.Grains.Placement;
using ControlPlane.Redis;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace ControlPlane.Grains.Redis.Membership;

/// <summary>Cluster membership on Redis leases. Each join registers a fresh silo id with a lease (PX on Redis' clock),
/// renewed every heartbeat by a script that fails once the lease key is gone: an expired lease is never extended, the
/// silo rejoins under a new id. A silo that cannot renew stops serving turns at <c>lease - 2 heartbeats</c> after the
/// start of its last successful renewal (its own monotonic clock), before the lease can expire on Redis. The view
/// version (INCR on join/leave) is announced on a pub/sub channel; every heartbeat reads it too, as a backup.</summary>
public sealed class RedisClusterMembership : IClusterMembership, IAsyncDisposable
{
    private static readonly ClusterView s_emptyView = new(-1, [], new Dictionary<string, ClusterMember>(StringComparer.Ordinal));

    private readonly IRedisConnection _redis;
    private readonly Func<CancellationToken, Task<IRedisSubscriber>>? _connectSubscriber;
    private readonly RedisClusterOptions _options;
    private readonly string _nodeName;
    private readonly TimeProvider _time;
    private readonly Random _random;
    private readonly ILogger _log;
    private readonly object _gate = new();
    private readonly CancellationTokenSource _stopping = new();
    private IRedisSubscriber? _subscriber;
    private IRedisSubscription? _subscription;
    private LocalIdentity? _identity;
    private string _lastSiloId = string.Empty;
    private string? _abandonedSiloId;
    private ClusterView _view = s_emptyView;
    private long _lastRenewalStart;
    private bool _serving;
    private int _joined;
    private int _left;
    private int _refreshPending;
    private Task? _heartbeats;
    private ITimer? _fenceTimer;

    /// <summary>Creates the membership of one silo.</summary>
    /// <param name="redis">The shared command connection.</param>
    /// <param name="subscriber">The pub/sub connection for view notices (not disposed here); null to rely on polling.</param>
    /// <param name="options">Validated here.</param>
    /// <param name="nodeName">The stable part of the silo id when <see cref="RedisClusterOptions.NodeName"/> is null.</param>
    /// <param name="timeProvider">The node's clock for heartbeats and the self-fence.</param>
    /// <param name="random">Source of silo id suffixes and incarnation ids.</param>
    /// <param name="logger">Where lease events go.</param>
    public RedisClusterMembership(
        IRedisConnection redis,
        IRedisSubscriber? subscriber,
        RedisClusterOptions options,
        string nodeName = "silo",
        TimeProvider? timeProvider = null,
        Random? random = null,
        ILogger? logger = null)
        : this(redis, subscriber, connectSubscriber: null, options, nodeName, timeProvider, random, logger)
    {
    }

    internal RedisClusterMembership(
        IRedisConnection redis,
        IRedisSubscriber? subscriber,
        Func<CancellationToken, Task<IRedisSubscriber>>? connectSubscriber,
        RedisClusterOptions options,
        string nodeName,
        TimeProvider? timeProvider,
        Random? random,
        ILogger? logger)
    {
        ArgumentNullException.ThrowIfNull(redis);
        ArgumentNullException.ThrowIfNull(options);
        RedisClusterOptionsValidator.ThrowIfInvalid(options);
        _redis = redis;
        _subscriber = subscriber;
        _connectSubscriber = connectSubscriber;
        _options = options;
        _nodeName = options.NodeName ?? nodeName;
        _time = timeProvider ?? TimeProvider.System;
        _random = random ?? Random.Shared;
        _log = logger ?? NullLogger.Instance;
        Keys = new ClusterKeys(options.KeyPrefix);
    }

    /// <inheritdoc />
    public string LocalSiloId
    {
        get
        {
            lock (_gate)
            {
                return _identity?.SiloId ?? _lastSiloId;
            }
        }
    }

    /// <inheritdoc />
    public IReadOnlyList<ClusterMember> Members => Volatile.Read(ref _view).Members;

    /// <inheritdoc />
    public long ViewVersion => Math.Max(0, Volatile.Read(ref _view).Version);

    /// <inheritdoc />
    public bool IsServing
    {
        get
        {
            lock (_gate)
            {
                return _serving;
            }
        }
    }

    /// <summary>The incarnation this silo joined under (a new one means Redis lost its data); null when not joined.</summary>
    public string? Incarnation => Identity?.Incarnation;

    /// <inheritdoc />
    public event EventHandler? Changed;

    /// <inheritdoc />
    public event EventHandler? ClaimsVoided;

    internal ClusterKeys Keys { get; }

    internal IRedisConnection Redis => _redis;

    /// <summary>Who this silo is now (null between a lost lease and the rejoin).</summary>
    internal LocalIdentity? Identity
    {
        get
        {
            lock (_gate)
            {
                return _identity;
            }
        }
    }

    /// <inheritdoc />
    public ClusterMember? FindMember(string siloId) =>
        Volatile.Read(ref _view).ById.GetValueOrDefault(siloId);

    /// <inheritdoc />
    public async Task JoinAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _joined, 1) == 1)
        {
            return;
        }

        if (_subscriber is null && _connectSubscriber is not null)
        {
            _subscriber = await _connectSubscriber(cancellationToken).ConfigureAwait(false);
        }

        if (_subscriber is not null)
        {
            _subscription = await _subscriber.SubscribeAsync(Keys.ViewChannel, OnViewNotice, cancellationToken).ConfigureAwait(false);
            _subscriber.StateChanged += OnSubscriberStateChanged;
        }

        await JoinOnceAsync(cancellationToken).ConfigureAwait(false);

        // A slow first join (cold start on a busy machine) can leave the node past its fence already: renew once more
        // so that a started silo serves.
        if (!IsServing && Identity is { } joined)
        {
            await HeartbeatOnceAsync(joined, cancellationToken).ConfigureAwait(false);
        }

        var check = _options.HeartbeatInterval / 2;
        _fenceTimer = _time.CreateTimer(static s => ((RedisClusterMembership)s!).CheckFence(), this, check, check);
        _heartbeats = HeartbeatLoopAsync(_stopping.Token);
    }

    /// <inheritdoc />
    public async Task LeaveAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _left, 1) == 1 || Volatile.Read(ref _joined) == 0)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_fenceTimer is not null)
        {
            await _fenceTimer.DisposeAsync().ConfigureAwait(false);
        }

        if (_heartbeats is not null)
        {
            await _heartbeats.ConfigureAwait(false);
        }

        LocalIdentity? identity;
        lock (_gate)
        {
            identity = _identity;
            _identity = null;
            _serving = false;
        }

        if (identity is not null)
        {
            try
            {
                using var timeout = new CancellationTokenSource(_options.LeaseDuration, _time);
                using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, cancellationToken);
                await LeaveScriptAsync(identity.SiloId, linked.Token).ConfigureAwait(false);
                _log.Left(identity.SiloId);
            }
#pragma warning disable CA1031 // Leaving is best effort: the lease expires on its own.
            catch (Exception error)
#pragma warning restore CA1031
            {
                _log.RenewalFailed(identity.SiloId, error);
            }
        }

        if (_subscription is not null)
        {
            _subscriber!.StateChanged -= OnSubscriberStateChanged;
            await _subscription.DisposeAsync().ConfigureAwait(false);
        }

        RaiseChanged();
    }

    /// <summary>Leaves (best effort) and disposes the subscriber this membership connected itself.</summary>
    public async ValueTask DisposeAsync()
    {
        await LeaveAsync().ConfigureAwait(false);
        if (_connectSubscriber is not null && _subscriber is not null)
        {
            await _subscriber.DisposeAsync().ConfigureAwait(false);
        }

        _stopping.Dispose();
    }

    /// <summary>Reads the view now (prunes expired members).</summary>
    internal async Task RefreshViewAsync(CancellationToken cancellationToken = default)
    {
        var identity = Identity;
        var reply = await _redis.EvaluateAsync(ClusterScripts.View, [Keys.Members, Keys.View], [Keys.LeasePrefix, Keys.ViewChannel], cancellationToken)
            .ConfigureAwait(false);
        ApplyView(identity, reply);
    }

    private async Task JoinOnceAsync(CancellationToken cancellationToken)
    {
        if (_abandonedSiloId is { } abandoned)
        {
            // Our clock said the lease ran out; make sure Redis agrees, so nobody is redirected to the old id.
            await LeaveScriptAsync(abandoned, cancellationToken).ConfigureAwait(false);
            _abandonedSiloId = null;
        }

        var siloId = string.Create(CultureInfo.InvariantCulture, $"{_nodeName}.{NextHex(8)}");
        var start = _time.GetTimestamp();
        var reply = await _redis.EvaluateAsync(
            ClusterScripts.Join,
            [Keys.Incarnation, Keys.Members, Keys.View],
            [siloId, _options.SiloAddress, LeaseMilliseconds, NextHex(16), Keys.LeasePrefix, Keys.ViewChannel],
            cancellationToken).ConfigureAwait(false);
        var parts = reply.AsArray()!;
        var identity = new LocalIdentity(siloId, parts[0].AsString()!);
        lock (_gate)
        {
            _identity = identity;
            _lastSiloId = siloId;
            _lastRenewalStart = start;
            _serving = _time.GetElapsedTime(start) < _options.SelfFenceAfter;
            Volatile.Write(ref _view, s_emptyView);
        }

        _log.Joined(siloId, _options.SiloAddress, identity.Incarnation, parts[1].AsInt64());
        await RefreshViewAsync(cancellationToken).ConfigureAwait(false);
        RaiseChanged();
    }

    private Task LeaveScriptAsync(string siloId, CancellationToken cancellationToken) =>
        _redis.EvaluateAsync(ClusterScripts.Leave, [Keys.Members, Keys.View], [siloId, Keys.LeasePrefix, Keys.ViewChannel], cancellationToken);

    private async Task HeartbeatLoopAsync(CancellationToken stopping)
    {
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(_options.HeartbeatInterval, _time, stopping).ConfigureAwait(false);
                if (Identity is { } identity)
                {
                    await HeartbeatOnceAsync(identity, stopping).ConfigureAwait(false);
                }
                else
                {
                    await JoinOnceAsync(stopping).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
#pragma warning disable CA1031 // The loop must outlive Redis outages; the self-fence covers the gap.
            catch (Exception error)
#pragma warning restore CA1031
            {
                _log.JoinFailed(error);
            }
        }
    }

    private async Task HeartbeatOnceAsync(LocalIdentity identity, CancellationToken stopping)
    {
        var start = _time.GetTimestamp();
        using var timeout = new CancellationTokenSource(_options.LeaseDuration, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, stopping);
        RespValue reply;
        try
        {
            reply = await _redis.EvaluateAsync(
                ClusterScripts.Heartbeat,
                [Keys.Incarnation, Keys.Members, Keys.View],
                [identity.Incarnation, identity.SiloId, LeaseMilliseconds, Keys.LeasePrefix, Keys.ViewChannel, Volatile.Read(ref _view).Version],
                linked.Token).ConfigureAwait(false);
        }
        catch (RedisServerException error) when (error.Prefix is "GONE" or "INCARNATION")
        {
            LoseLease(identity, error.Message);
            return;
        }
        catch (Exception error) when (!stopping.IsCancellationRequested)
        {
            _log.RenewalFailed(identity.SiloId, error);
            return;
        }

        bool resumed;
        lock (_gate)
        {
            if (!ReferenceEquals(_identity, identity))
            {
                return;
            }

            if (start > _lastRenewalStart)
            {
                _lastRenewalStart = start;
            }

            var serving = _time.GetElapsedTime(_lastRenewalStart) < _options.SelfFenceAfter;
            resumed = serving && !_serving;
            _serving = serving;
        }

        if (resumed)
        {
            _log.Unfenced(identity.SiloId);
        }

        if (!ApplyView(identity, reply) && resumed)
        {
            RaiseChanged();
        }
    }

    private void CheckFence()
    {
        LocalIdentity? lost = null;
        var fenced = false;
        lock (_gate)
        {
            if (_identity is null)
            {
                return;
            }

            var elapsed = _time.GetElapsedTime(_lastRenewalStart);
            if (elapsed >= _options.LeaseDuration)
            {
                lost = _identity;
            }
            else if (_serving && elapsed >= _options.SelfFenceAfter)
            {
                _serving = false;
                fenced = true;
                _log.SelfFenced(_identity.SiloId, elapsed, _options.SelfFenceAfter);
            }
        }

        if (lost is not null)
        {
            LoseLease(lost, "no successful renewal for a whole lease");
        }
        else if (fenced)
        {
            RaiseChanged();
        }
    }

    private void LoseLease(LocalIdentity identity, string reason)
    {
        lock (_gate)
        {
            if (!ReferenceEquals(_identity, identity))
            {
                return;
            }

            _identity = null;
            _serving = false;
            _abandonedSiloId = identity.SiloId;
            Volatile.Write(ref _view, s_emptyView);
        }

        _log.LeaseLost(identity.SiloId, reason);
        Raise(ClaimsVoided);
        RaiseChanged();
    }

    /// <summary>Applies a {view} or {view, members} reply if it is newer; true when the view changed (and Changed was raised).</summary>
    private bool ApplyView(LocalIdentity? identity, RespValue reply)
    {
        var parts = reply.AsArray()!;
        var version = parts[0].AsInt64();
        if (parts.Count < 2)
        {
            return false;
        }

        var flat = parts[1].AsArray()!;
        var members = new List<ClusterMember>(flat.Count / 2);
        for (var i = 0; i + 1 < flat.Count; i += 2)
        {
            if (ParseMember(flat[i].AsString()!, flat[i + 1].AsString()!) is { } member)
            {
                members.Add(member);
            }
        }

        members.Sort(static (a, b) => string.CompareOrdinal(a.SiloId, b.SiloId));
        lock (_gate)
        {
            var current = Volatile.Read(ref _view);
            if (!ReferenceEquals(_identity, identity) || version <= current.Version)
            {
                return false;
            }

            Volatile.Write(ref _view, new ClusterView(version, [.. members], members.ToDictionary(m => m.SiloId, StringComparer.Ordinal)));
        }

        _log.ViewChanged(version, members.Count);
        RaiseChanged();
        return true;
    }

    private static ClusterMember? ParseMember(string siloId, string record)
    {
        var bar = record.IndexOf('|', StringComparison.Ordinal);
        if (bar <= 0 || !long.TryParse(record.AsSpan(0, bar), NumberStyles.None, CultureInfo.InvariantCulture, out var startedMs))
        {
            return null;
        }

        return new ClusterMember(siloId, record[(bar + 1)..], DateTimeOffset.FromUnixTimeMilliseconds(startedMs));
    }

    private void OnViewNotice(RedisMessage message)
    {
        if (!long.TryParse(message.PayloadText, NumberStyles.None, CultureInfo.InvariantCulture, out var version)
            || version != Volatile.Read(ref _view).Version)
        {
            RequestRefresh();
        }
    }

    private void OnSubscriberStateChanged(object? sender, RedisConnectionStateChangedEventArgs e)
    {
        // Notices published while the subscriber was down are lost: re-read.
        if (e.State == RedisConnectionState.Connected)
        {
            RequestRefresh();
        }
    }

    private void RequestRefresh()
    {
        if (Interlocked.Exchange(ref _refreshPending, 1) == 0)
        {
            _ = RunRefreshAsync();
        }
    }

    private async Task RunRefreshAsync()
    {
        await Task.Yield();
        Volatile.Write(ref _refreshPending, 0);
        try
        {
            await RefreshViewAsync(_stopping.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            // Leaving: a view notice that arrived meanwhile no longer matters.
        }
#pragma warning disable CA1031 // The next heartbeat reads the view anyway.
        catch (Exception error)
#pragma warning restore CA1031
        {
            _log.ViewReadFailed(error);
        }
    }

    private void RaiseChanged() => Raise(Changed);

    private void Raise(EventHandler? handler)
    {
        if (handler is null)
        {
            return;
        }

        foreach (var single in handler.GetInvocationList())
        {
            try
            {
                ((EventHandler)single)(this, EventArgs.Empty);
            }
#pragma warning disable CA1031 // One subscriber's bug must not stop the lease machinery.
            catch (Exception error)
#pragma warning restore CA1031
            {
                _log.HandlerFailed(error);
            }
        }
    }

    private long LeaseMilliseconds => (long)_options.LeaseDuration.TotalMilliseconds;

    private string NextHex(int length)
    {
        Span<byte> bytes = stackalloc byte[length / 2];
        lock (_random)
        {
            _random.NextBytes(bytes);
        }

        return Convert.ToHexStringLower(bytes);
    }

    private sealed record ClusterView(long Version, ClusterMember[] Members, Dictionary<string, ClusterMember> ById);
}

/// <summary>This silo's current registration: its id and the incarnation it joined under.</summary>
internal sealed record LocalIdentity(string SiloId, string Incarnation);
