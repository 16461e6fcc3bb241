using ControlPlane.Domain.Breakers;
using ControlPlane.Domain.Endpoints;
using ControlPlane.Domain.Health;
using ControlPlane.Domain.Quotas;
using ControlPlane.Domain.Routing;
using ControlPlane.Service.Admin;
using ControlPlane.Service.Audit;
using Microsoft.Extensions.Logging;
using ControlPlane.Service.Placement;
using Microsoft.Extensions.Options;

namespace ControlPlane.Service.Grains;

/// <summary>Persisted state of an endpoint grain: what must survive a restart or a move. One record, so one write is
/// one etag-checked compare-and-swap.</summary>
[GenerateSerializer, Alias("cp.EndpointGrainState")]
public sealed class EndpointGrainState
{
    /// <summary>The active admin override (with actor, reason, expiry).</summary>
    [Id(0)]
    public AdminOverride? Override { get; set; }

    /// <summary>The endpoint-wide breaker as last published (trips, cooldown, state) for the record.</summary>
    [Id(1)]
    public BreakerSnapshot? Breaker { get; set; }

    /// <summary>The newest breaker events.</summary>
    [Id(2)]
    public List<BreakerEvent> RecentEvents { get; set; } = [];

    /// <summary>Publication version; never goes back (see <see cref="PublicationVersion"/>).</summary>
    [Id(3)]
    public long Version { get; set; }

    /// <summary>The quota lease ledger and its retry bookkeeping, so a new activation holds the same leases and level
    /// instead of starting with a full bucket.</summary>
    [Id(4)]
    public QuotaDeskState? Quota { get; set; }

    /// <summary>The rolling baselines of the endpoint-wide and per-class tracks, so the latency and quality breakers
    /// are not blind after a restart or a move; written every <see cref="ControlPlaneOptions.LearnedStatePersistPeriod"/>
    /// when they changed, and on deactivation.</summary>
    [Id(35)]
    public List<TrackBaselineState>? Baselines { get; set; }

    /// <summary>The silent model change last observed (outcomes reporting another model version than the pinned one),
    /// until and after an operator acknowledges it.</summary>
    [Id(40)]
    public Catalog.ModelChangeRecord? ModelChange { get; set; }
    /// <summary>Audit entries of changes persisted here and not yet known to be in the trail (written with the change).</summary>
    [Id(61)]
    public AuditOutboxState? AuditOutbox { get; set; }

    /// <summary>The endpoint's alerts (state per key) and the counts their long windows read (docs/alerts.md).</summary>
    [Id(70)]
    public Alerting.AlertBookState? Alerts { get; set; }

    /// <summary>In a follower region (federation): the home region's state last adopted (<c>docs/regions.md</c>).</summary>
    [Id(80)]
    public Federation.FollowedEndpoint? Followed { get; set; }

    /// <summary>In a follower region: overrides made here, oldest first, not yet acknowledged by the home region.</summary>
    [Id(81)]
    public List<Federation.ForwardedOverride>? FederationOutbox { get; set; }

    /// <summary>The last sequence given to a change in <see cref="FederationOutbox"/>.</summary>
    [Id(82)]
    public long FederationSequence { get; set; }

    /// <summary>In a follower region: the override the newest pending change set here (null: cleared).</summary>
    [Id(83)]
    public AdminOverride? FederationLocalOverride { get; set; }

    /// <summary>In the home region: the last forwarded sequence applied, by origin region.</summary>
    [Id(84)]
    public Dictionary<string, long>? ForwardedApplied { get; set; }
}

/// <summary>The authority for one provider endpoint: outcomes go in, breaker transitions and overrides come out
/// (persisted, audited, then pushed to every subscribed node); quota leases are carved from its TPM/RPM buckets.
/// A failed or conflicting write deactivates the activation, so the next call reloads what storage holds instead of
/// carrying on with an unwritten change.</summary>
[SpreadPlacement]
[GrainType("endpoint")]
internal sealed partial class ProviderEndpointGrain(
    [PersistentState("endpoint", GrainStorage.Name)] IPersistentState<EndpointGrainState> state,
    FleetCatalog catalog, IOptions<ControlPlaneOptions> options, TimeProvider time, ILogger<ProviderEndpointGrain> logger, GrainHome home,
    Telemetry.GrainInstruments instruments)
    : Grain, IProviderEndpointGrain, IGrainMigrationParticipant
{
    private readonly ControlPlaneOptions _options = options.Value;
    private readonly RecentBatches _batches = new();
    // The same decision reported twice (to one node or two) counts once.
    private readonly SeenDecisions _seen = new(options.Value.DecisionIdLifetime);
    private readonly ProbePermits _probes = new();
    private EndpointDescriptor _descriptor = null!;
    private EndpointHealth _health = null!;
    private QuotaDesk _quota = null!;
    private readonly RoutingSubscribers _subscribers = RoutingSubscribers.For(options.Value, time, logger);
    private EndpointLoad _load;
    private IGrainTimer? _expiryTimer;
    private bool _writeFailed;
    private IGrainTimer? _halfOpenTimer;
    private TimeSpan _rampPersisted;
    private GrainAuditOutbox? _auditOutbox;

    private EndpointGrainState State => state.State;

    private GrainAuditOutbox AuditOutbox => _auditOutbox ??= new GrainAuditOutbox(this, GrainFactory, () => State.AuditOutbox ??= new AuditOutboxState(), logger);

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        await AdoptClusterFleetAsync();
        var id = this.GetPrimaryKeyString();
        if (!catalog.Endpoints.TryGetValue(id, out var entry))
        {
            throw new InvalidOperationException($"Endpoint '{id}' is not in the fleet catalog.");
        }

        _descriptor = entry.Descriptor;
        // Newer than anything an earlier activation published (it may have published versions it never persisted,
        // or storage may have been reset): the subscribe replies of this activation are never dropped as stale.
        State.Version = PublicationVersion.Next(State.Version, time);
        _health = new EndpointHealth(id, _options.Health, time);
        // Persisted baselines first; the fleet file's seed then fills only metrics that have no trusted value.
        BaselineStates.Restore(_health, State.Baselines);
        if (entry.Baseline is { } seed)
        {
            _health.SeedBaselines(seed);
        }

        // Leases granted by the previous activation are still being spent: the ledger carries them and the level over
        // (it documents what happens when the fleet changed the limits meanwhile).
        _quota = QuotaDesk.Create(QuotaLimits.PerMinute(_descriptor.TokensPerMinute, _descriptor.RequestsPerMinute), State.Quota,
            _options.Lease, time, _options.LeaseOutageShare);
        StartRegionQuota();

        // The automatic breaker carries on from its last persisted transition (an open breaker stays open, its
        // cooldown and trip count intact); the admin's decision is restored exactly from its own record.
        if (State.Breaker is { } breaker)
        {
            // A recovery ramp resumes from its persisted progress; the time this grain was away is not counted as
            // healthy (nobody watched it).
            _health.Endpoint.RestoreBreaker(breaker with { Override = null, RampCheckedAt = time.GetUtcNow() });
            _rampPersisted = _health.Endpoint.Breaker.RampHealthyTime;
        }

        ApplyRecoveryGate(entry);
        if (State.Override is { } saved && saved.IsActive(time.GetUtcNow()))
        {
            _health.SetOverride(saved);
            _health.DrainEvents();
            ScheduleExpiry(saved);
        }

        this.RegisterGrainTimer(EvaluateAsync, new GrainTimerCreationOptions(_options.EvaluationPeriod, _options.EvaluationPeriod));
        // Not started: a failed push starts it, and it pushes the latest status to the nodes that missed it.
        _subscribers.UseRetryTimer(this.RegisterGrainTimer(_ => _subscribers.RetryLaggingAsync(),
            new GrainTimerCreationOptions(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan)));
        this.RegisterGrainTimer(_ => PersistBaselinesAsync(),
            new GrainTimerCreationOptions(_options.LearnedStatePersistPeriod, _options.LearnedStatePersistPeriod));
        ScheduleHalfOpen();
        AuditOutbox.Resume();
        ResumeFederationOutbox();
        await ResumeAlertsAsync();
    }

    // Baselines are written on deactivation too (a restart, a move to the home silo), unless a write already failed:
    // then this activation holds changes storage refused, and the next one starts from what storage has.
    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        instruments.Forget("endpoint", this.GetPrimaryKeyString());
        _regionMetrics?.Remove(this.GetPrimaryKeyString());
        ForgetAlertGauge();
        try
        {
            await PersistBaselinesAsync();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.LogWarning(e, "Endpoint {Endpoint}: baselines not persisted on deactivation ({Reason}).", this.GetPrimaryKeyString(), reason.Description);
        }
    }

    public async Task RecordOutcomesAsync(OutcomeBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (!_batches.TryAdd(batch.NodeId, batch.BatchId))
        {
            return;
        }

        if (IsFollower)
        {
            // Shared health: the home region's grain counts them (docs/regions.md).
            ForwardOutcomes(batch);
            return;
        }

        var now = time.GetUtcNow();
        string? changedModel = null;
        foreach (var outcome in batch.Outcomes)
        {
            if (!_seen.TryAdd(outcome.DecisionKey, now))
            {
                continue;
            }

            if (outcome.Synthetic)
            {
                // A prober's outcome: endpoint-wide health and the recovery gate only (ProviderEndpointGrain.Evals.cs).
                _health.RecordSynthetic(outcome.Sample);
            }
            else
            {
                _health.Record(outcome.Sample, outcome.WorkloadClass);
                _alertRules.Record(outcome);
            }

            changedModel ??= outcome.ReturnedModelVersion;
        }

        if (changedModel is not null)
        {
            // Persists and pushes the batch's breaker events with it when the change is new.
            await ObserveModelChangeAsync(changedModel);
        }

        var events = _health.DrainEvents();
        if (events.Count > 0)
        {
            await PublishAsync(events, refreshLoad: true);
        }
    }

    public async Task<EndpointDetails> ChangeOverrideAsync(OverrideChange change)
    {
        ArgumentNullException.ThrowIfNull(change);
        ArgumentException.ThrowIfNullOrWhiteSpace(change.Actor.Principal);
        ArgumentException.ThrowIfNullOrWhiteSpace(change.Reason);
        if (IsFollower)
        {
            return await ChangeOverrideAsFollowerAsync(change);
        }

        await AuditOutbox.EnsureRoomAsync();
        var now = time.GetUtcNow();
        var before = _health.Current();
        if (change.RequireCurrent is { } required && (before.Override is not { } current || current.Kind != required || !current.IsActive(now)))
        {
            throw new AdminException(AdminErrorKind.Conflict, "id", required == OverrideKind.Drain
                ? $"endpoint '{_descriptor.Id}' is not drained"
                : $"endpoint '{_descriptor.Id}' has no active {AdminNames.Override(required)} override");
        }

        AdminOverride? adminOverride = null;
        if (change.Kind is { } kind)
        {
            adminOverride = new AdminOverride(kind, change.Actor.Principal, change.Reason, now, change.Ttl is { } t ? now + t : null);
            _health.SetOverride(adminOverride);
        }
        else
        {
            _health.ClearOverride(change.Actor.Principal);
        }

        // Persisted even when nothing changed (an idempotent repeat), so the audit never records what storage lacks. The
        // entry is staged in this grain's state and written in the same write as the change, then delivered.
        AuditOutbox.Stage(AuditEntryOf(change, before));
        await PublishAsync(_health.DrainEvents(), refreshLoad: false, persist: true, audit: AuditOutbox.DeliverAsync);
        ScheduleExpiry(adminOverride);
        return Details();
    }

    public Task<EndpointDetails> GetDetailsAsync() => Task.FromResult(Details());

    public Task<EndpointStatus> SubscribeAsync(IRoutingObserver observer)
    {
        _subscribers.Subscribe(observer);
        return Task.FromResult(Status());
    }

    // Lease writes keep the activation through a storage outage (the desk grants up to its outage share meanwhile).
    public async Task<QuotaLease?> GrantLeaseAsync(LeaseRequest request) =>
        CountLease(_follower is null ? await _quota.GrantAsync(request, PersistQuotaAsync) : await GrantFollowerLeaseAsync(request));

    public Task SettleLeaseAsync(string nodeId, LeaseSettlement settlement)
    {
        if (_follower is { } follower)
        {
            follower.Settle(nodeId, settlement);
            return Task.CompletedTask;
        }

        return _quota.SettleAsync(nodeId, settlement, PersistQuotaAsync);
    }

    public Task<string> GetHostAsync() => Task.FromResult(RuntimeIdentity);

    public async Task<bool> AcquireProbeAsync(ProbeRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentException.ThrowIfNullOrEmpty(request.NodeId);
        ArgumentException.ThrowIfNullOrEmpty(request.RequestId);
        if (_probes.TryReplay(request, out var granted))
        {
            return granted;
        }

        // The domain bounds the permits of one half-open period (reclaiming those unanswered after the probe timeout).
        granted = _health.TryAcquireProbe();
        var events = _health.DrainEvents();
        if (events.Count > 0)
        {
            // The ask noticed a due transition (cooldown over) first: persist and push it like any other.
            await PublishAsync(events, refreshLoad: false, persist: true);
        }
        else if (granted)
        {
            // Persisted before it is answered: a restarted activation still counts this permit as outstanding.
            State.Breaker = _health.Endpoint.Breaker.Export();
            await PersistAsync();
        }

        _probes.Remember(request, granted);
        return granted;
    }

    // A migration to the grain's home silo carries its subscribers; its persistent state travels by itself.
    public void OnDehydrate(IDehydrationContext dehydrationContext) => _subscribers.OnDehydrate(dehydrationContext);

    public void OnRehydrate(IRehydrationContext rehydrationContext) => _subscribers.OnRehydrate(rehydrationContext);

    // Nodes learn of an expiry when it happens, not at the next evaluation period.
    private void ScheduleExpiry(AdminOverride? adminOverride)
    {
        _expiryTimer?.Dispose();
        _expiryTimer = null;
        if (adminOverride?.ExpiresAt is { } at)
        {
            var due = at - time.GetUtcNow();
            _expiryTimer = this.RegisterGrainTimer(EvaluateAsync,
                new GrainTimerCreationOptions(due > TimeSpan.Zero ? due : TimeSpan.Zero, Timeout.InfiniteTimeSpan));
        }
    }

    // Nodes learn that the cooldown ended (and start asking for probes) when it ends, not at the next evaluation period.
    private void ScheduleHalfOpen()
    {
        var until = _health.Endpoint.Breaker.OpenUntil;
        _halfOpenTimer?.Dispose();
        _halfOpenTimer = null;
        if (until is { } at)
        {
            var due = at - time.GetUtcNow();
            _halfOpenTimer = this.RegisterGrainTimer(CooldownEndedAsync,
                new GrainTimerCreationOptions(due > TimeSpan.Zero ? due : TimeSpan.Zero, Timeout.InfiniteTimeSpan));
        }
    }

    private async Task CooldownEndedAsync(CancellationToken cancellationToken)
    {
        _health.Current();
        var events = _health.DrainEvents();
        if (events.Count > 0)
        {
            await PublishAsync(events, refreshLoad: false);
        }
    }

    private async Task EvaluateAsync(CancellationToken cancellationToken)
    {
        if (home.IsAway(this.GetGrainId()))
        {
            this.MigrateOnIdle();
        }

        var events = _health.Evaluate();
        // Lease expiry and writes held through a storage outage are written on their own, keeping the activation if
        // storage is still unreachable; a breaker change is persisted (or fails) as before.
        await _quota.WriteDueAsync(PersistQuotaAsync);

        // Load figures move every period; nodes need them for balancing and timeout budgets. A recovery ramp's progress
        // is written about twelve times over the ramp (once a minute with the defaults), so a restart resumes it.
        var breaker = _options.Health.Breaker;
        var rampStep = (breaker.RampObservation + breaker.RampDuration) / 12;
        bool rampMoved = rampStep > TimeSpan.Zero && (_health.Endpoint.Breaker.RampHealthyTime - _rampPersisted).Duration() >= rampStep;
        if ((rampMoved || GateMoved()) && events.Count == 0)
        {
            // Ramp progress is learned state: written like the baselines, never at the cost of the activation.
            await PersistLearnedAsync(breaker: true);
        }

        await PublishAsync(events, refreshLoad: true);
        await EvaluateAlertRulesAsync();
    }

    private async Task PublishAsync(IReadOnlyList<HealthEvent> events, bool refreshLoad, bool persist = false, Func<Task>? audit = null)
    {
        if (refreshLoad)
        {
            var now = time.GetUtcNow();
            var window = _health.Endpoint.Window;
            _load = LoadOf(window.Snapshot(now), window.Snapshot(now, notBefore: _health.Endpoint.Breaker.SignalsSince),
                _health.Pace.PerTokenMs(now));
        }

        State.Version = PublicationVersion.Next(State.Version, time);
        if (events.Count > 0 || persist)
        {
            var overrideBefore = State.Override;
            State.Override = _health.Current().Override;
            State.Breaker = _health.Endpoint.Breaker.Export();
            foreach (var e in events)
            {
                if (e.WorkloadClass is null)
                {
                    State.RecentEvents.Add(e.Event);
                }
            }

            if (State.RecentEvents.Count > _options.RecentEventsKept)
            {
                State.RecentEvents.RemoveRange(0, State.RecentEvents.Count - _options.RecentEventsKept);
            }

            // Persist before pushing or answering: a node must never act on a change that a restart would undo.
            await PersistAsync();
            RecordTransitions(events, overrideBefore);
            _rampPersisted = _health.Endpoint.Breaker.RampHealthyTime;
            ScheduleHalfOpen();
        }

        if (audit is not null)
        {
            await audit();
        }

        var status = Status();
        await _subscribers.NotifyAsync(observer => observer.OnEndpointChangedAsync(status));
    }

    // Every write carries the ledger as of now, so no write (breaker, override or lease) stores an older ledger.
    private async Task PersistAsync()
    {
        State.Quota = _quota.Export();
        State.Baselines = BaselineStates.Export(_health);
        ExportAlertCounts();
        try
        {
            await state.WriteOrReloadAsync(this);
            _quota.MarkWritten();
        }
        catch
        {
            _writeFailed = true;
            throw;
        }
    }

    private Task PersistBaselinesAsync() =>
        _health is null || BaselineStates.Export(_health).SequenceEqual(State.Baselines ?? []) ? Task.CompletedTask : PersistLearnedAsync(breaker: false);

    // Learned state (baselines, ramp progress) is soft: it is not written while the quota desk holds grants storage
    // lacks (storage is unreachable), and a write that fails for any reason but a conflict keeps the activation, so an
    // outage never costs the lease grants made through it. The next write stores it. A conflict still reloads.
    private async Task PersistLearnedAsync(bool breaker)
    {
        if (_writeFailed || _quota.Unwritten)
        {
            return;
        }

        State.Quota = _quota.Export();
        State.Baselines = BaselineStates.Export(_health);
        ExportAlertCounts();
        if (breaker)
        {
            State.Breaker = _health.Endpoint.Breaker.Export();
        }

        try
        {
            await state.WriteOrKeepAsync(this);
            _quota.MarkWritten();
            if (breaker)
            {
                _rampPersisted = _health.Endpoint.Breaker.RampHealthyTime;
            }
        }
        catch (Exception error) when (error is not (Orleans.Storage.InconsistentStateException or OperationCanceledException))
        {
            logger.LogWarning(error, "Endpoint {Endpoint}: learned state not written; retried with the next write.", _descriptor.Id);
        }
    }

    private async Task PersistQuotaAsync()
    {
        State.Quota = _quota.Export();
        await state.WriteOrKeepAsync(this);
    }

    private AuditEntry AuditEntryOf(OverrideChange change, EndpointHealthView before)
    {
        var previous = before.Override is { } o ? AdminNames.Override(o.Kind) : "none";
        var expiry = change.Ttl is { } t ? $"; ttl {t.TotalSeconds:0}s" : "";
        var current = _health.Current();
        var after = current.Override is { } n ? AdminNames.Override(n.Kind) : "none";
        return new AuditEntry(0, time.GetUtcNow(), change.Actor, change.AuditAction, _descriptor.Id, change.Reason,
            $"override {previous}; breaker {AdminNames.Breaker(before.State)}", $"override {after}; breaker {AdminNames.Breaker(current.State)}{expiry}");
    }

    private EndpointStatus Status() => new(_descriptor.Id, RoutingView(), RoutingLoad(), State.Version);

    private EndpointDetails Details()
    {
        var now = time.GetUtcNow();
        var window = _health.Endpoint.Window.Snapshot(now);
        var breaker = _health.Endpoint.Breaker;
        var health = new HealthFigures(window.Requests, window.Successes, window.Failures, window.RateLimited, window.ErrorRate,
            window.LatencyP50?.TotalMilliseconds, window.LatencyP95?.TotalMilliseconds, window.LatencyP99?.TotalMilliseconds,
            window.QualityPassRate, _health.Endpoint.Window.DroppedLate);
        return new EndpointDetails(_descriptor, RoutingView(), breaker.AutomaticState, breaker.Trips, breaker.OpenUntil,
            health, _quota.Levels(), _quota.Holders(now), [.. State.RecentEvents], State.Version, RuntimeIdentity)
        {
            Baseline = _health.Endpoint.Baseline.Current,
            PerOutputTokenMs = _health.Pace.PerTokenMs(now),
            ModelChange = State.ModelChange,
            Federation = FederationView(),
        };
    }

    // The adaptive timeout's figures (fixed part, per-token pace, censoring by timeouts) and the balancing figures
    // (since the breaker's last state change): see EndpointLoad.FromWindow.
    private static EndpointLoad LoadOf(in HealthSnapshot window, in HealthSnapshot signals, double? perTokenMs) =>
        EndpointLoad.FromWindow(window, signals, perTokenMs);
}
