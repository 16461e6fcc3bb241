using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using ControlPlane.Domain.Endpoints;
using ControlPlane.Domain.Health;
using ControlPlane.Domain.Policy;
using ControlPlane.Domain.Quotas;
using ControlPlane.Domain.Routing;
using ControlPlane.Service.Admin;
using ControlPlane.Service.Grains;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Wire = ControlPlane.Contracts.V1;

namespace ControlPlane.Service.DataPlane;

/// <summary>
/// The node-local fast path. Route answers from a <see cref="RoutingSnapshot"/> and the node's quota lease
/// wallets, never waiting on storage or a grain. Grains push every change (<see cref="IRoutingObserver"/>);
/// outcomes are queued and flushed to the owning grains in small batches; leases are renewed before they run dry.
/// </summary>
internal sealed partial class RoutingNode : IRoutingObserver, IAsyncDisposable
{
    private const int MaxFallbacks = 64;

    /// <summary>Largest token count a request or outcome may state (far above any context window; a sum of a few of
    /// them cannot overflow).</summary>
    internal const long MaxTokens = 1_000_000_000;

    /// <summary>Largest duration in milliseconds a request or outcome may state (one day).</summary>
    internal const long MaxMilliseconds = 86_400_000;

    /// <summary><c>deadline_ms</c> of a caller that has no deadline: the grpc-timeout bounds only the Route call.</summary>
    internal const long NoDeadline = -1;

    /// <summary>Largest attempt number.</summary>
    internal const int MaxAttempt = 1_000;

    /// <summary>Most endpoints one Route may exclude (the exclusions are kept on the stack).</summary>
    internal const int MaxExcludedEndpoints = 256;

    /// <summary>Most capabilities one Route may require.</summary>
    internal const int MaxCapabilities = 64;

    /// <summary>Most tags one Route may carry.</summary>
    internal const int MaxTags = 64;
    private const int MaxRetriesOnLostQuota = 3;
    // An unlimited dimension is granted as asked: ask for more than any request can reserve.
    private const long UnlimitedSlice = long.MaxValue / 4;
    // The most recent decisions kept for reconciliation; an older unreported one stays charged at its estimate.
    private const int MaxPendingDecisions = 200_000;
    private static readonly TimeSpan SubscribeRetryDelay = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan PendingDecisionAge = TimeSpan.FromMinutes(5);

    private readonly FleetCatalog _catalog;
    private readonly IGrainFactory _grains;
    private readonly TimeProvider _time;
    private readonly ControlPlaneOptions _options;
    private readonly ILogger<RoutingNode> _logger;
    private readonly Router _router;
    private readonly NodeQuotaTable _quota;
    private readonly SpendLeases _spend;
    private readonly LeaseWallet?[] _wallets;
    private readonly bool[] _limited;
    private readonly LeaseWallet?[] _classWallets;
    private readonly bool[] _classBudgeted;
    private readonly EndpointHealthView[] _views;
    private readonly long[] _endpointVersions;
    private readonly long[] _classVersions;
    private readonly PendingDecisions _decisions = new(MaxPendingDecisions);
    private readonly ConcurrentQueue<OutcomeRecord> _outcomes = new();
    // Batches whose delivery failed: re-sent as they were (same id), so a grain that did count one counts it once.
    private readonly ConcurrentQueue<(bool ToEndpoint, string Key, OutcomeBatch Batch)> _undelivered = new();
    private readonly ConcurrentDictionary<(LeaseOwner Owner, int Index), string> _grantAttempts = new();
    private readonly ConcurrentDictionary<(LeaseOwner Owner, int Index), LeaseDemand> _demand = new();
    private long _batchCounter;
    private long _grantCounter;
    private readonly RoutingMetrics _metrics;
    private readonly RetryBudgets _retryBudgets;
    private readonly RouteQueueMetrics _queueMetrics;
    private readonly Telemetry.RouteInstruments _instruments;
    private readonly RouteHoldQueue _holds;
    private readonly Lock _quotaLock = new();
    private readonly Lock _tableLock = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly string _decisionPrefix;
    // Decision ids (DecisionIds.cs): signed with the cluster's key, loaded at start; this start's tag marks our own.
    private readonly uint _nodeTag = (uint)Random.Shared.NextInt64(1, uint.MaxValue);
    private DecisionIds? _ids;
    private readonly ProbeAsks _probes;
    private RoutingSnapshot _snapshot;
    private IRoutingObserver? _self;
    private Task? _loop;
    private readonly ConcurrentDictionary<(LeaseOwner Owner, int Index), Task> _renewals = new();
    private long _decisionCounter;
    private int _queuedOutcomes;
    private long _tableVersion;
    private TaskCompletionSource _tableChanged = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private DateTimeOffset _lastSubscribe;
    private bool _ready;
    private bool _resubscribeRequested;
    private bool _subscribeRetryDue;

    public RoutingNode(FleetCatalog catalog, IGrainFactory grains, TimeProvider time, IOptions<ControlPlaneOptions> options, ILogger<RoutingNode> logger,
        IMeterFactory? meterFactory = null, RequestLog.RequestLogWriter? requestLog = null)
    {
        _requestLog = requestLog is { Enabled: true } ? requestLog : null;
        _catalog = catalog;
        _grains = grains;
        _time = time;
        _options = options.Value.Validate();
        _logger = logger;
        var fleet = catalog.Fleet;
        _views = [.. fleet.Descriptors.Select(_ => EndpointHealthView.Healthy)];
        _endpointVersions = new long[_views.Length];
        _classVersions = new long[catalog.Fleet.Policies.Length];
        _snapshot = RoutingSnapshot.Create(fleet.Descriptors, _views, fleet.Policies);
        _quota = new NodeQuotaTable(_views.Length, fleet.Policies.Length);
        _quota.SetPriorities(_snapshot);
        _wallets = new LeaseWallet?[_views.Length];
        _limited = [.. fleet.Descriptors.Select(d => d.TokensPerMinute > 0 || d.RequestsPerMinute > 0)];
        _classWallets = new LeaseWallet?[fleet.Policies.Length];
        _classBudgeted = [.. fleet.Policies.Select(p => p.Budget is { } b && (b.TokensPerPeriod > 0 || b.RequestsPerPeriod > 0))];

        // Fail closed: a limited endpoint or budgeted class pays only from a lease. Until its grain grants one (or if
        // it never can), an empty wallet refuses, exactly as an expired lease does; Route goes to the fallbacks.
        for (var i = 0; i < _limited.Length; i++)
        {
            if (_limited[i])
            {
                SwapWallet(LeaseOwner.Endpoint, i, new LeaseWallet(_options.Lease, _time));
            }
        }

        for (var c = 0; c < _classBudgeted.Length; c++)
        {
            if (_classBudgeted[c])
            {
                SwapWallet(LeaseOwner.Class, c, new LeaseWallet(_options.Lease, _time));
            }
        }
        // Random.Shared: Decide runs on many threads at once.
        _router = new Router(_options.Router, time, Random.Shared, _quota);
        // A per-start tag keeps a restarted node (same name) from reconciling its predecessor's decision ids.
        _decisionPrefix = _options.NodeId + "." + Random.Shared.Next(0x1000, 0x10000).ToString("x", CultureInfo.InvariantCulture) + "-";
        // Spend ceilings: endpoint prices and an empty (refusing) wallet per class with a ceiling, until its grain grants.
        _spend = new SpendLeases(fleet, _quota, _quotaLock, grains, time, _options, logger, _decisionPrefix);
        _metrics = new RoutingMetrics(meterFactory, _options.NodeId, () => QueuedOutcomes, () => PendingDecisionCount,
            [.. fleet.Policies.Select(p => p.Name)]);
        _retryBudgets = new RetryBudgets([.. catalog.Fleet.Classes.Select(c => c.RetryBudget)], time);
        _probes = new ProbeAsks(grains, time, logger, _options.NodeId, _decisionPrefix, _options.Health.Breaker.ProbeTimeout, _views.Length);
        _queueMetrics = new RouteQueueMetrics(meterFactory, _options.NodeId, [.. fleet.Policies.Select(p => p.Name)], HeldDepth);
        _holds = new RouteHoldQueue(fleet.Policies.Length, _options.Queue, time, Reroute, RetryAfterMs, _queueMetrics);
        _instruments = new Telemetry.RouteInstruments(meterFactory, _options.NodeId, [.. fleet.Policies.Select(p => p.Name)],
            [.. fleet.Descriptors.Select(d => d.Id)], BreakerStateIndex);
        // Fleet reloads swap the descriptors in place (RoutingNode.Fleet.cs).
        catalog.OnChanged(OnFleetChanged);
    }

    /// <summary>The current snapshot (replaced when a policy changes).</summary>
    public RoutingSnapshot Snapshot => Volatile.Read(ref _snapshot);

    /// <summary>The routing table's version; bumps on every pushed change.</summary>
    public long TableVersion => Interlocked.Read(ref _tableVersion);

    /// <summary>True once the node has made its first pass of subscriptions to every grain and of leases (and until
    /// it stops): before that its table has not heard of any override, so Route must not answer from it. A grain whose
    /// subscription failed is retried every second.</summary>
    public bool IsReady => Volatile.Read(ref _ready);

    /// <summary>Makes the background loop re-subscribe to every grain at its next tick. Called when the cluster view
    /// changes: grains of a departed node re-activate elsewhere without their subscribers, and the subscribe call
    /// is what re-activates them and brings this node's table up to date.</summary>
    public void RequestResubscribe() => Volatile.Write(ref _resubscribeRequested, true);

    /// <summary>Outcomes waiting for the next flush.</summary>
    public int QueuedOutcomes => Volatile.Read(ref _queuedOutcomes);

    /// <summary>Decisions whose outcome has not been reported yet (their reservations await reconciliation).</summary>
    public int PendingDecisionCount
    {
        get
        {
            lock (_quotaLock)
            {
                return _decisions.Count;
            }
        }
    }

    /// <summary>Subscribes to every endpoint and class grain, takes initial leases, starts the background loop.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _self = _grains.CreateObjectReference<IRoutingObserver>(this);
        Volatile.Write(ref _ids, new DecisionIds(await LoadDecisionKeyAsync(cancellationToken)));
        await SubscribeAllAsync();
        await RenewLeasesAsync(force: true);
        // The timer starts now, not when the loop task first runs, so its period counts from start-up.
        var timer = new PeriodicTimer(_options.OutcomeFlushInterval, _time);
        _loop = Task.Run(() => RunAsync(timer, _stopping.Token), CancellationToken.None);
        Volatile.Write(ref _ready, true);
    }

    /// <summary>Stops the loop, flushes what is queued and returns unused leases.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_stopping.IsCancellationRequested)
        {
            return;
        }

        Volatile.Write(ref _ready, false);
        // Held calls are answered now (queue_only_hold): the caller retries, on another node.
        _holds.Close();
        await _stopping.CancelAsync();
        if (_loop is not null)
        {
            await _loop;
        }

        // A renewal that completes after its slot was emptied would install a lease nobody returns.
        try
        {
            await Task.WhenAll(_renewals.Values);
        }
        catch (OperationCanceledException)
        {
            // A renewal cancelled under the stop has nothing to return.
        }

        await FlushOutcomesAsync();
        await _spend.ReturnAllAsync();
        foreach (var owner in new[] { LeaseOwner.Endpoint, LeaseOwner.Class })
        {
            var budgeted = owner == LeaseOwner.Endpoint ? _limited : _classBudgeted;
            for (var i = 0; i < budgeted.Length; i++)
            {
                // An empty wallet, not none: a call still in flight while the node stops is refused, not unlimited.
                if (budgeted[i])
                {
                    await ReturnAsync(owner, i, SwapWallet(owner, i, new LeaseWallet(_options.Lease, _time)));
                }
            }
        }

        if (_self is not null)
        {
            _grains.DeleteObjectReference<IRoutingObserver>(_self);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None);
        _stopping.Dispose();
        _metrics.Dispose();
        _queueMetrics.Dispose();
        _instruments.Dispose();
    }

    /// <summary>Decides where a request goes. Throws <see cref="RoutingRequestException"/> for bad input.</summary>
    /// <param name="request">The request from the wire.</param>
    /// <param name="callDeadline">The call's remaining grpc-timeout, if any.</param>
    /// <param name="countAttempt">False when a held call is routed again: its attempt was counted against the class's
    /// retry budget when it arrived, and a re-check must neither deposit a first attempt again nor withdraw a retry
    /// again.</param>
    public Wire.RouteDecision Route(Wire.RouteRequest request, TimeSpan? callDeadline, bool countAttempt = true)
    {
        var snapshot = Snapshot;
        if (string.IsNullOrEmpty(request.WorkloadClass))
        {
            throw new RoutingRequestException(RequestErrorKind.InvalidArgument, "workload_class", "is required");
        }

        if (!snapshot.TryGetClassIndex(request.WorkloadClass, out var classIndex))
        {
            throw new RoutingRequestException(RequestErrorKind.NotFound, "workload_class", $"unknown workload class '{request.WorkloadClass}'");
        }

        // Every number and count from the wire is bounded before it sizes or sums anything: no input may crash the
        // node or wrap an allowance (token sums stay far below long.MaxValue; milliseconds convert to a TimeSpan).
        RequireRange(request.EstimatedInputTokens, MaxTokens, "estimated_input_tokens");
        RequireRange(request.MaxOutputTokens, MaxTokens, "max_output_tokens");
        RequireRange(request.Attempt, MaxAttempt, "attempt");
        if (request.DeadlineMs < NoDeadline)
        {
            throw Invalid("deadline_ms", $"must be -1 (no deadline), 0 (the call's grpc-timeout) or a positive number of milliseconds (was {request.DeadlineMs})");
        }

        if (request.DeadlineMs != NoDeadline)
        {
            RequireRange(request.DeadlineMs, MaxMilliseconds, "deadline_ms");
        }

        RequireLength(request.RequestId, DecisionIds.MaxRequestIdLength, "request_id");
        RequireCount(request.RequiredCapabilities.Count, MaxCapabilities, "required_capabilities");
        RequireCount(request.ExcludeEndpointIds.Count, MaxExcludedEndpoints, "exclude_endpoint_ids");
        RequireCount(request.Tags.Count, MaxTags, "tags");
        var capabilities = Capabilities.None;
        for (var i = 0; i < request.RequiredCapabilities.Count; i++)
        {
            if (!CapabilityNames.TryParse(request.RequiredCapabilities[i], out var capability))
            {
                throw new RoutingRequestException(RequestErrorKind.InvalidArgument, $"required_capabilities[{i}]", $"unknown capability '{request.RequiredCapabilities[i]}'");
            }

            capabilities |= capability;
        }

        var excludeCount = request.ExcludeEndpointIds.Count;
        Span<int> exclude = stackalloc int[excludeCount + MaxRetriesOnLostQuota + 1];
        for (var i = 0; i < excludeCount; i++)
        {
            if (!snapshot.TryGetEndpointIndex(request.ExcludeEndpointIds[i], out exclude[i]))
            {
                throw new RoutingRequestException(RequestErrorKind.InvalidArgument, $"exclude_endpoint_ids[{i}]", $"unknown endpoint '{request.ExcludeEndpointIds[i]}'");
            }
        }

        // The shorter of the caller's stated deadline and the call's own grpc-timeout: a decision's timeout must
        // never outlive the caller. A caller with no deadline (-1) bounds only this call by its grpc-timeout.
        TimeSpan? remaining = request.DeadlineMs > 0 ? TimeSpan.FromMilliseconds(request.DeadlineMs)
            : request.DeadlineMs == NoDeadline ? null : callDeadline;
        if (callDeadline is { } call && remaining > call)
        {
            remaining = call;
        }

        if (countAttempt && !AdmitAttempt(classIndex, request.Attempt))
        {
            _instruments.Decided(classIndex, -1, RouteReason.RetryBudgetExhausted);
            return RetryBudgetRefusal(request, snapshot, classIndex);
        }

        Span<int> fallbacks = stackalloc int[MaxFallbacks];
        RouteDecision decision = default;
        long number = 0;
        for (var round = 0; round <= MaxRetriesOnLostQuota; round++)
        {
            var routeRequest = new RouteRequest
            {
                ClassIndex = classIndex,
                EstimatedInputTokens = request.EstimatedInputTokens,
                MaxOutputTokens = request.MaxOutputTokens,
                RequiredCapabilities = capabilities,
                RemainingDeadline = remaining,
                Attempt = request.Attempt,
                Exclude = exclude[..excludeCount],
                Tags = request.Tags,
            };
            decision = _router.Decide(snapshot, routeRequest, fallbacks);
            if (!decision.HasEndpoint)
            {
                break;
            }

            var madeAt = _time.GetUtcNow().UtcTicks;
            lock (_quotaLock)
            {
                if (_quota.TryAdmit(classIndex, decision.EndpointIndex, decision.Reservation, out var ticket))
                {
                    // Tracked under the lock that spent it, so a racing outcome always finds the ticket.
                    number = Interlocked.Increment(ref _decisionCounter);
                    TrackDecision(snapshot, number, ticket, madeAt);
                }
            }

            if (number != 0)
            {
                break;
            }

            if (decision.IsProbe)
            {
                // The probe slot is a permit the endpoint grain counts cluster-wide: give it back for the next request
                // rather than leave it outstanding until the probe timeout.
                snapshot.AddProbeSlots(decision.EndpointIndex, 1);
            }

            // Another call spent the last of the slice between the gate check and the spend: try the next best.
            exclude[excludeCount++] = decision.EndpointIndex;
            decision = decision with { EndpointIndex = -1, Reason = RouteReason.NoCapacity, FallbackCount = 0 };
        }

        // No endpoint, and the class's spend ceiling cannot pay even its cheapest approved endpoint: out of money.
        if (!decision.HasEndpoint)
        {
            var (primaries, approved) = snapshot.CandidatesOf(classIndex);
            if (_quota.SpendCeilingReached(classIndex, primaries, approved, decision.Reservation, _time.GetUtcNow(), out var cost))
            {
                decision = decision with { Reason = RouteReason.SpendCeiling };
                _spend.NoteShortfall(classIndex, cost);
            }
        }

        var primary = snapshot.FirstPrimaryOf(classIndex);
        var reply = new Wire.RouteDecision
        {
            DecisionId = Ids.Issue(_nodeTag, number != 0 ? number : Interlocked.Increment(ref _decisionCounter), DecisionIds.RequestKey(request.RequestId),
                request.Attempt, _time.GetUtcNow(), decision.HasEndpoint ? snapshot.EndpointAt(decision.EndpointIndex).Id : "", request.WorkloadClass,
                decision.Reason, primary),
            RouteReason = decision.Reason.ToWireName(),
            TimeoutMs = remaining is { } budget ? Math.Min((long)decision.Timeout.TotalMilliseconds, (long)budget.TotalMilliseconds)
                : (long)decision.Timeout.TotalMilliseconds,
        };
        SetPrimary(reply, snapshot, primary);
        if (decision.HasEndpoint)
        {
            var endpoint = snapshot.EndpointAt(decision.EndpointIndex);
            reply.EndpointId = endpoint.Id;
            reply.Provider = endpoint.Provider;
            reply.Model = endpoint.Model;
            reply.ModelVersion = endpoint.ModelVersion;
            reply.Region = endpoint.Region;
            reply.Reservation = new Wire.TokenReservation
            {
                InputTokens = decision.Reservation.InputTokens,
                OutputTokens = decision.Reservation.OutputTokens,
                Requests = decision.Reservation.Requests,
            };
            // Sized once: growing from empty would allocate an eight-slot array for a chain of two.
            reply.Fallbacks.Capacity = decision.FallbackCount;
            for (var i = 0; i < decision.FallbackCount; i++)
            {
                reply.Fallbacks.Add(snapshot.EndpointAt(fallbacks[i]).Id);
            }
        }

        _instruments.Decided(classIndex, decision.HasEndpoint ? decision.EndpointIndex : -1, decision.Reason);
        return reply;
    }

    /// <summary>Validates an outcome and queues it for the next flush; reconciles its quota reservation.</summary>
    public void Report(Wire.Outcome outcome)
    {
        var snapshot = Snapshot;
        if (string.IsNullOrEmpty(outcome.EndpointId))
        {
            throw Invalid("endpoint_id", "is required");
        }

        if (!snapshot.TryGetEndpointIndex(outcome.EndpointId, out var endpointIndex))
        {
            throw Invalid("endpoint_id", $"unknown endpoint '{outcome.EndpointId}'");
        }

        if (outcome.Synthetic)
        {
            // A prober's outcome (RoutingNode.Synthetic.cs): no class, no decision, no reservation.
            ReportSynthetic(outcome, snapshot, endpointIndex);
            return;
        }

        if (string.IsNullOrEmpty(outcome.WorkloadClass))
        {
            throw Invalid("workload_class", "is required");
        }

        if (!snapshot.TryGetClassIndex(outcome.WorkloadClass, out var classIndex))
        {
            throw new RoutingRequestException(RequestErrorKind.NotFound, "workload_class", $"unknown workload class '{outcome.WorkloadClass}'");
        }

        var endpoint = snapshot.EndpointAt(endpointIndex);
        var sample = ReadOutcome(outcome, endpoint, out var changedModel);
        long actualTokens = outcome.InputTokens + outcome.OutputTokens;

        var claim = VerifyDecision(outcome, sample.At);
        if (claim.NodeTag == _nodeTag && claim.Number != 0)
        {
            bool reconciled;
            lock (_quotaLock)
            {
                reconciled = _decisions.TryRemove(claim.Number, out var ticket);
                if (reconciled)
                {
                    ReleaseDecision(claim.Number, ticket);
                    _quota.Reconcile(ticket, outcome.InputTokens, outcome.OutputTokens);
                }
            }

            // Our own decision, recent enough to still be pending, yet not pending: its outcome was reported already.
            if (!reconciled && IsKnownRepeat(claim, sample.At))
            {
                return;
            }
        }

        var fallback = !IsPrimary(snapshot.ClassAt(classIndex), outcome.EndpointId);
        _instruments.Outcome(classIndex, endpointIndex, endpoint, sample, fallback, changedModel is not null, outcome.WorkflowVerdict);
        _outcomes.Enqueue(new OutcomeRecord(outcome.EndpointId, outcome.WorkloadClass, sample, fallback,
            claim.Key, claim.RequestKey, claim.Attempt) { ReturnedModelVersion = changedModel, WorkflowVerdict = outcome.WorkflowVerdict });
        if (_requestLog is not null)
        {
            LogRequest(outcome, snapshot, classIndex, endpoint, sample, claim, fallback);
        }

        // A counter, not ConcurrentQueue.Count, which walks the segments under a lock once the queue spans several.
        if (Interlocked.Increment(ref _queuedOutcomes) > _options.MaxQueuedOutcomes)
        {
            var dropped = 0;
            while (Volatile.Read(ref _queuedOutcomes) > _options.MaxQueuedOutcomes && _outcomes.TryDequeue(out _))
            {
                // Bounded memory while grains are unreachable: the oldest outcomes matter least to the breaker.
                Interlocked.Decrement(ref _queuedOutcomes);
                dropped++;
            }

            _metrics.OutcomesDropped(dropped);
        }
    }

    /// <summary>The routing table as proxies see it (WatchRoutingTable).</summary>
    public Wire.RoutingTable BuildTable(IReadOnlyCollection<string> classes)
    {
        var snapshot = Snapshot;
        var table = new Wire.RoutingTable { Version = TableVersion, GeneratedUnixMs = _time.GetUtcNow().ToUnixTimeMilliseconds() };
        var now = _time.GetUtcNow();
        lock (_tableLock)
        {
            for (var i = 0; i < snapshot.EndpointCount; i++)
            {
                var e = snapshot.EndpointAt(i);
                var view = _views[i];
                var activeOverride = view.Override is { } o && o.IsActive(now) ? o : null;
                table.Endpoints.Add(new Wire.EndpointRoute
                {
                    EndpointId = e.Id,
                    Provider = e.Provider,
                    Model = e.Model,
                    BreakerState = AdminNames.Breaker(activeOverride is null && view.Reason == BreakerReason.Forced ? BreakerState.Closed : view.State),
                    BreakerReason = activeOverride is not null ? AdminNames.Override(activeOverride.Kind) : AdminNames.Reason(view.Reason),
                    Degraded = view.Degraded,
                    Drained = activeOverride?.Kind == OverrideKind.Drain,
                    Weight = activeOverride is null ? view.TrafficFraction : activeOverride.Kind == OverrideKind.ForceClosed ? 1 : 0,
                    RateLimitedUntilUnixMs = view.RateLimitedUntil is { } until && until > now ? until.ToUnixTimeMilliseconds() : 0,
                });
            }
        }

        for (var c = 0; c < snapshot.ClassCount; c++)
        {
            var policy = snapshot.ClassAt(c);
            if (classes.Count > 0 && !classes.Contains(policy.Name))
            {
                continue;
            }

            var route = new Wire.ClassRoute { WorkloadClass = policy.Name, Mode = AdminNames.Mode(policy.Mode) };
            route.Primary.AddRange(policy.Primary);
            route.Fallbacks.AddRange(policy.Fallbacks.Select(f => f.EndpointId));
            route.Prohibited.AddRange(policy.Prohibited);
            table.Classes.Add(route);
        }

        return table;
    }

    /// <summary>Completes when the table changes after <paramref name="version"/>.</summary>
    public Task WaitForTableChangeAsync(long version, CancellationToken cancellationToken)
    {
        var changed = Volatile.Read(ref _tableChanged);
        return TableVersion != version ? Task.CompletedTask : changed.Task.WaitAsync(cancellationToken);
    }

    public Task OnEndpointChangedAsync(EndpointStatus status)
    {
        _instruments.Propagated(Telemetry.RouteInstruments.EndpointChange, status.Version, _time.GetUtcNow());
        Apply(status);
        return Task.CompletedTask;
    }

    public Task OnClassChangedAsync(ClassStatus status)
    {
        _instruments.Propagated(Telemetry.RouteInstruments.ClassChange, status.Version, _time.GetUtcNow());
        Apply(status);
        return Task.CompletedTask;
    }

    /// <summary>Sends queued outcomes to their endpoint and class grains, one batch per grain.</summary>
    internal async Task FlushOutcomesAsync()
    {
        var calls = new List<Task>();
        for (var retries = _undelivered.Count; retries > 0 && _undelivered.TryDequeue(out var retry); retries--)
        {
            Interlocked.Add(ref _queuedOutcomes, -retry.Batch.Outcomes.Count);
            calls.Add(Deliver(retry.ToEndpoint, retry.Key, retry.Batch));
        }

        if (!_outcomes.IsEmpty)
        {
            var batch = new List<OutcomeRecord>(QueuedOutcomes);
            while (_outcomes.TryDequeue(out var outcome))
            {
                batch.Add(outcome);
            }

            Interlocked.Add(ref _queuedOutcomes, -batch.Count);
            foreach (var group in batch.GroupBy(o => o.EndpointId, StringComparer.Ordinal))
            {
                calls.Add(Deliver(true, group.Key, NewBatch(group.ToList())));
            }

            // Synthetic outcomes belong to no class: they reach the endpoint grains only.
            foreach (var group in batch.Where(o => !o.Synthetic).GroupBy(o => o.WorkloadClass, StringComparer.Ordinal))
            {
                calls.Add(Deliver(false, group.Key, NewBatch(group.ToList())));
            }
        }

        await Task.WhenAll(calls);
    }

    /// <summary>Asks the grains of half-open endpoints that decisions wanted to probe for permits (see <see cref="ProbeAsks"/>).</summary>
    internal Task AskForProbesAsync() => _probes.AskAsync(Snapshot, IsHalfOpen, InstallProbe);

    /// <summary>Probe permits the endpoint grains granted this node.</summary>
    internal long ProbesGranted => _probes.Granted;

    private bool IsHalfOpen(int index)
    {
        lock (_tableLock)
        {
            return _views[index].State == BreakerState.HalfOpen;
        }
    }

    private bool InstallProbe(int index)
    {
        lock (_tableLock)
        {
            // A push that took the breaker out of half-open arrived first: the permit is stale.
            if (_views[index].State != BreakerState.HalfOpen)
            {
                return false;
            }

            Snapshot.AddProbeSlots(index, 1);
            // A held call of a queue_only class may be what asked for the probe: it takes the slot now.
            _holds.Signal();
            return true;
        }
    }

    private OutcomeBatch NewBatch(List<OutcomeRecord> outcomes) =>
        new(_options.NodeId, _decisionPrefix + "b" + Interlocked.Increment(ref _batchCounter).ToString("x", CultureInfo.InvariantCulture), outcomes);

    /// <summary>Renews every limited endpoint's lease and every budgeted class's lease that is low, near expiry or
    /// missing. A request is admitted only when both its endpoint and its class can pay for it.</summary>
    /// <remarks>
    /// Slots renew concurrently, at most one renewal per slot at a time: one unreachable grain delays only its own.
    /// </remarks>
    internal Task RenewLeasesAsync(bool force = false)
    {
        var renewals = new List<Task>();
        for (var i = 0; i < _wallets.Length; i++)
        {
            if (_limited[i])
            {
                renewals.Add(RenewOnceAsync(LeaseOwner.Endpoint, i, force));
            }
        }

        for (var c = 0; c < _classWallets.Length; c++)
        {
            if (_classBudgeted[c])
            {
                renewals.Add(RenewOnceAsync(LeaseOwner.Class, c, force));
            }
        }

        renewals.Add(_spend.RenewAsync(force));
        return Task.WhenAll(renewals);
    }

    // Joins the slot's renewal in flight, or starts one.
    private Task RenewOnceAsync(LeaseOwner owner, int index, bool force) => RenewOnceAsync(owner, index, force, out _);

    // Joins the slot's renewal in flight (joined), or starts one.
    private Task RenewOnceAsync(LeaseOwner owner, int index, bool force, out bool joined)
    {
        var key = (owner, index);
        Task renewal;
        joined = false;
        lock (_renewals)
        {
            if (_renewals.TryGetValue(key, out var running))
            {
                joined = true;
                return running;
            }

            renewal = RenewAsync(owner, index, force);
            if (renewal.IsCompleted)
            {
                return renewal;
            }

            _renewals[key] = renewal;
        }

        _ = renewal.ContinueWith(done => _renewals.TryRemove(new KeyValuePair<(LeaseOwner, int), Task>(key, done)),
            CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return renewal;
    }

    private async Task RenewAsync(LeaseOwner owner, int index, bool force)
    {
        var wallets = Wallets(owner);
        var current = Volatile.Read(ref wallets[index]);
        var snapshot = Snapshot;
        var (tokens, requests) = owner == LeaseOwner.Endpoint
            ? (snapshot.EndpointAt(index).TokensPerMinute, snapshot.EndpointAt(index).RequestsPerMinute)
            : (snapshot.ClassAt(index).Budget?.TokensPerPeriod ?? 0, snapshot.ClassAt(index).Budget?.RequestsPerPeriod ?? 0);
        var demand = _demand.GetOrAdd((owner, index), _ => new LeaseDemand());
        bool due;
        LeaseAsk ask;
        lock (_quotaLock)
        {
            // Leases follow demand: sized to the slot's recent spend rate, and an oversized one is renewed (shrunk).
            ask = demand.Plan(current, tokens, requests, _options, _time.GetUtcNow(), UnlimitedSlice);
            // Calls refused for want of this slot's quota and waiting for a top-up add what they need (RoutingNode.TopUp.cs).
            ask = WithShortfall(owner, index, ask, tokens, requests);
            due = force || current is null || current.NeedsRenewal() || ask.Oversized;
        }

        if (!due)
        {
            return;
        }

        var key = OwnerKey(snapshot, owner, index);
        QuotaLease? lease;
        // An attempt whose answer was lost is retried with the same request id: the grain answers the lease it
        // granted (and persisted) instead of granting a second one that nobody would spend or return.
        var requestId = _grantAttempts.GetOrAdd((owner, index),
            _ => _decisionPrefix + "g" + Interlocked.Increment(ref _grantCounter).ToString("x", CultureInfo.InvariantCulture));
        try
        {
            lease = await QuotaOwner(owner, key).GrantLeaseAsync(new LeaseRequest(_options.NodeId, requestId, ask.Tokens, ask.Requests,
                ask.DemandTokensPerMinute, ask.DemandRequestsPerMinute));
        }
        catch (Exception error) when (IsCallFailure(error))
        {
            LogLeaseFailed(_logger, key, error);
            return;
        }

        _grantAttempts.TryRemove((owner, index), out _);

        if (lease is null)
        {
            return;
        }

        // A fresh wallet takes over first, so Route never sees an empty slot; the old one is settled after.
        var wallet = new LeaseWallet(_options.Lease, _time);
        wallet.Accept(lease.Value);
        if (owner == LeaseOwner.Endpoint && !Volatile.Read(ref _limited[index]))
        {
            // A fleet reload lifted the endpoint's limits while this grant was in flight: the lease goes back unused.
            await ReturnAsync(owner, index, wallet.Settle());
            return;
        }

        var settlement = SwapWallet(owner, index, wallet);
        // Quota arrived: held calls waiting for it are re-checked.
        _holds.Signal();
        await ReturnAsync(owner, index, settlement);
    }

    // Installs next (or clears the slot) and settles what it replaces, in one step under the quota lock, so no Route
    // spends from a wallet after its settlement was taken. A default settlement (lease id 0) means nothing to return.
    private LeaseSettlement SwapWallet(LeaseOwner owner, int index, LeaseWallet? next)
    {
        var wallets = Wallets(owner);
        lock (_quotaLock)
        {
            var previous = wallets[index];
            wallets[index] = next;
            Install(owner, index, next);
            return previous?.Settle() ?? default;
        }
    }

    private IQuotaOwnerGrain QuotaOwner(LeaseOwner owner, string key) => owner == LeaseOwner.Endpoint
        ? _grains.GetGrain<IProviderEndpointGrain>(key)
        : _grains.GetGrain<IWorkloadClassGrain>(key);

    private LeaseWallet?[] Wallets(LeaseOwner owner) => owner == LeaseOwner.Endpoint ? _wallets : _classWallets;

    private void Install(LeaseOwner owner, int index, LeaseWallet? wallet)
    {
        if (owner == LeaseOwner.Endpoint)
        {
            _quota.SetEndpointWallet(index, wallet);
        }
        else
        {
            _quota.SetClassWallet(index, wallet);
        }
    }

    private static string OwnerKey(RoutingSnapshot snapshot, LeaseOwner owner, int index) =>
        owner == LeaseOwner.Endpoint ? snapshot.EndpointAt(index).Id : snapshot.ClassAt(index).Name;

    private async Task ReturnAsync(LeaseOwner owner, int index, LeaseSettlement settlement)
    {
        if (settlement.LeaseId == 0)
        {
            return;
        }

        var key = OwnerKey(Snapshot, owner, index);
        try
        {
            await QuotaOwner(owner, key).SettleLeaseAsync(_options.NodeId, settlement);
        }
        catch (Exception error) when (IsCallFailure(error))
        {
            // The ledger forfeits an unreturned lease at its expiry: the cost is idle quota, never overspend.
            LogLeaseFailed(_logger, key, error);
        }
    }

    private async Task Deliver(bool toEndpoint, string key, OutcomeBatch batch)
    {
        try
        {
            await QuotaOwner(toEndpoint ? LeaseOwner.Endpoint : LeaseOwner.Class, key).RecordOutcomesAsync(batch);
            if (toEndpoint)
            {
                _metrics.OutcomesDelivered(batch.Outcomes.Count);
            }
        }
        catch (Exception error) when (IsCallFailure(error))
        {
            LogFlushFailed(_logger, error);
            // Kept within the node's bound: beyond it the oldest undelivered batch is dropped (counted as dropped).
            _undelivered.Enqueue((toEndpoint, key, batch));
            if (Interlocked.Add(ref _queuedOutcomes, batch.Outcomes.Count) > _options.MaxQueuedOutcomes && _undelivered.TryDequeue(out var oldest))
            {
                Interlocked.Add(ref _queuedOutcomes, -oldest.Batch.Outcomes.Count);
                _metrics.OutcomesDropped(oldest.Batch.Outcomes.Count);
            }
        }
    }

    private async Task SubscribeAllAsync()
    {
        _lastSubscribe = _time.GetUtcNow();
        var self = _self!;
        var endpoints = _catalog.Fleet.Descriptors.Select(async d =>
        {
            try
            {
                Apply(await _grains.GetGrain<IProviderEndpointGrain>(d.Id).SubscribeAsync(self));
            }
            catch (Exception error) when (IsCallFailure(error))
            {
                LogSubscribeFailed(_logger, d.Id, error);
                Volatile.Write(ref _subscribeRetryDue, true);
            }
        });
        var classes = _catalog.Fleet.Policies.Select(async p =>
        {
            try
            {
                Apply(await _grains.GetGrain<IWorkloadClassGrain>(p.Name).SubscribeAsync(self));
            }
            catch (Exception error) when (IsCallFailure(error))
            {
                LogSubscribeFailed(_logger, p.Name, error);
                Volatile.Write(ref _subscribeRetryDue, true);
            }
        });
        await Task.WhenAll(endpoints.Concat(classes));
    }

    private async Task RunAsync(PeriodicTimer timer, CancellationToken cancellationToken)
    {
        using var owned = timer;
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                try
                {
                    await FlushOutcomesAsync();
                    await RenewLeasesAsync();
                    await AskForProbesAsync();
                    var now = _time.GetUtcNow();
                    ExpireInFlight(now);
                    // Renewal period, a cluster view change (at once), or a failed subscription (at most once a second).
                    if (now - _lastSubscribe >= _options.SubscriptionExpiry / 3
                        || Interlocked.Exchange(ref _resubscribeRequested, false)
                        || (now - _lastSubscribe >= SubscribeRetryDelay && Interlocked.Exchange(ref _subscribeRetryDue, false)))
                    {
                        await SubscribeAllAsync();
                        SweepDecisions(now);
                    }
                }
                catch (Exception error) when (IsCallFailure(error))
                {
                    // One bad tick must not end the loop: renewals, flushes and subscriptions go on at the next.
                    LogLoopFailed(_logger, error);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    // Grain calls fail with grain, storage (IO, database, Redis) and transport errors alike; only cancellation and
    // the runtime's own fatal errors pass through.
    private static bool IsCallFailure(Exception error) =>
        error is not (OperationCanceledException or OutOfMemoryException or StackOverflowException or AccessViolationException);

    private void SweepDecisions(DateTimeOffset now)
    {
        var cutoff = (now - PendingDecisionAge).UtcTicks;
        for (var page = 0; page < _decisions.PageCount; page++)
        {
            // One page per lock hold, so Route never waits on a whole sweep.
            lock (_quotaLock)
            {
                _decisions.RemoveMadeBefore(page, cutoff);
            }
        }
    }

    private DecisionIds Ids => Volatile.Read(ref _ids) ?? throw new InvalidOperationException("The routing node has not started.");

    /// <summary>Checks the outcome's decision: a decision id must verify (this cluster's, for exactly this endpoint
    /// and class, not older than <see cref="ControlPlaneOptions.DecisionIdLifetime"/>); an outcome without one is
    /// accepted only when <see cref="ControlPlaneOptions.AcceptUnroutedOutcomes"/> allows it, and then carries its own
    /// request_id and attempt.</summary>
    private DecisionClaim VerifyDecision(Wire.Outcome outcome, DateTimeOffset now)
    {
        if (outcome.DecisionId.Length == 0)
        {
            if (!_options.AcceptUnroutedOutcomes)
            {
                throw Invalid("decision_id", "is required: report the decision_id Route returned (this node does not accept unrouted outcomes)");
            }

            return new DecisionClaim(0, 0, DecisionIds.RequestKey(outcome.RequestId), outcome.Attempt, 0, 0);
        }

        if (!Ids.TryVerify(outcome.DecisionId, outcome.EndpointId, outcome.WorkloadClass, out var claim))
        {
            throw Invalid("decision_id", "is not a decision of this cluster for this endpoint_id and workload_class");
        }

        if (claim.IssuedAtUnixMs < now.ToUnixTimeMilliseconds() - (long)_options.DecisionIdLifetime.TotalMilliseconds)
        {
            throw Invalid("decision_id", $"has expired (outcomes are accepted up to {_options.DecisionIdLifetime} after their decision)");
        }

        if (outcome.RequestId.Length > 0 && DecisionIds.RequestKey(outcome.RequestId) != claim.RequestKey)
        {
            throw Invalid("request_id", "differs from the request_id of the decision's Route");
        }

        return claim;
    }

    // A decision of this start that is no longer pending although it cannot have been swept (younger than the sweep
    // age) nor displaced (within the ring's capacity) was reconciled by an earlier report.
    private bool IsKnownRepeat(DecisionClaim claim, DateTimeOffset now) =>
        claim.IssuedAtUnixMs > now.ToUnixTimeMilliseconds() - (long)PendingDecisionAge.TotalMilliseconds + 1_000
        && claim.Number > Interlocked.Read(ref _decisionCounter) - _decisions.Capacity;

    /// <summary>The configured decision key, or the cluster's (generated once and persisted by its grain). Retried
    /// while the grain is unreachable: without the key the node can neither issue nor verify decisions.</summary>
    private async Task<byte[]> LoadDecisionKeyAsync(CancellationToken cancellationToken)
    {
        if (DecisionIds.ParseKey(_options.DecisionKey) is { } configured)
        {
            return configured;
        }

        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await _grains.GetGrain<IDecisionKeyGrain>(DecisionKeyGrain.Key).GetKeyAsync();
            }
            catch (Exception error) when (IsCallFailure(error) && attempt < 10)
            {
                LogSubscribeFailed(_logger, DecisionKeyGrain.Key, error);
                await Task.Delay(SubscribeRetryDelay, _time, cancellationToken);
            }
        }
    }

    private static bool IsPrimary(WorkloadClassPolicy policy, string endpointId)
    {
        var primaries = policy.Primary;
        for (var i = 0; i < primaries.Count; i++)
        {
            if (string.Equals(primaries[i], endpointId, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    private void Apply(EndpointStatus status)
    {
        var snapshot = Snapshot;
        if (!snapshot.TryGetEndpointIndex(status.EndpointId, out var index))
        {
            return;
        }

        lock (_tableLock)
        {
            // Pushes from one grain can race a subscribe reply: never let an older status win.
            if (status.Version < _endpointVersions[index])
            {
                return;
            }

            // The snapshot current under the lock: a policy rebuild may have replaced the one read before it.
            snapshot = Snapshot;

            bool changed = _views[index] != status.View;
            _endpointVersions[index] = status.Version;
            _views[index] = status.View;
            snapshot.SetHealth(index, status.View);
            snapshot.SetLoad(index, status.Load);
            if (status.View.State != BreakerState.HalfOpen)
            {
                // Probe permits belong to one half-open period: none may outlive it on this node.
                snapshot.TakeProbeSlots(index);
            }

            if (changed)
            {
                BumpTable();
            }
        }
    }

    private void Apply(ClassStatus status)
    {
        lock (_tableLock)
        {
            var current = Snapshot;
            // A subscribe reply carrying an older policy can arrive after a push of the newer one: never go back.
            if (!current.TryGetClassIndex(status.Name, out var index) || status.Version < _classVersions[index])
            {
                return;
            }

            _classVersions[index] = status.Version;
            _retryBudgets.SetNodes(index, status.Nodes);
            if (ReferenceEquals(current.ClassAt(index), status.Policy) || current.ClassAt(index) == status.Policy)
            {
                return;
            }

            var policies = Enumerable.Range(0, current.ClassCount).Select(c => c == index ? status.Policy : current.ClassAt(c)).ToList();
            var rebuilt = RoutingSnapshot.Create(_catalog.Fleet.Descriptors, _views, policies, current.Version + 1);
            for (var i = 0; i < current.EndpointCount; i++)
            {
                rebuilt.SetLoad(i, current.LoadAt(i));
                rebuilt.AddProbeSlots(i, current.TakeProbeSlots(i));
            }

            rebuilt.CarryInFlightFrom(current);
            Volatile.Write(ref _snapshot, rebuilt);
            _quota.SetPriorities(rebuilt);
            BumpTable();
        }
    }

    private void BumpTable()
    {
        Interlocked.Increment(ref _tableVersion);
        var previous = Interlocked.Exchange(ref _tableChanged, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        previous.TrySetResult();
        _holds.Signal();
    }

    private static void RequireRange(long value, long max, string field)
    {
        if (value < 0)
        {
            throw Invalid(field, $"must not be negative (was {value})");
        }

        if (value > max)
        {
            throw Invalid(field, $"must be at most {max} (was {value})");
        }
    }

    private static void RequireCount(int count, int max, string field)
    {
        if (count > max)
        {
            throw Invalid(field, $"must list at most {max} items (was {count})");
        }
    }

    private static void RequireLength(string value, int max, string field)
    {
        if (value.Length > max)
        {
            throw Invalid(field, $"must be at most {max} characters (was {value.Length})");
        }
    }

    private static RoutingRequestException Invalid(string field, string message) => new(RequestErrorKind.InvalidArgument, field, message);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Outcome flush failed; the batch is re-queued.")]
    private static partial void LogFlushFailed(ILogger logger, Exception error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Lease renewal or return for {LeaseOwner} failed.")]
    private static partial void LogLeaseFailed(ILogger logger, string leaseOwner, Exception error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "A routing node background pass failed; the next tick retries.")]
    private static partial void LogLoopFailed(ILogger logger, Exception error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Subscribing to {GrainKey} failed; retried at the next tick.")]
    private static partial void LogSubscribeFailed(ILogger logger, string grainKey, Exception error);

    private enum LeaseOwner
    {
        Endpoint,
        Class,
    }
}
