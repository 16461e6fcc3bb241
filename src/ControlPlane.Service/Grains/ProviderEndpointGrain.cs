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
}

/// <summary>The authority for one provider endpoint: outcomes go in, breaker transitions and overrides come out
/// (persisted, audited, then pushed to every subscribed node); quota leases are carved from its TPM/RPM buckets.
/// A failed or conflicting write deactivates the activation, so the next call reloads what storage holds instead of
/// carrying on with an unwritten change.</summary>
[SpreadPlacement]
[GrainType("endpoint")]
internal sealed class ProviderEndpointGrain(
    [PersistentState("endpoint", GrainStorage.Name)] IPersistentState<EndpointGrainState> state,
    FleetCatalog catalog, IOptions<ControlPlaneOptions> options, TimeProvider time, ILogger<ProviderEndpointGrain> logger, GrainHome home)
    : Grain, IProviderEndpointGrain, IGrainMigrationParticipant
{
    private readonly ControlPlaneOptions _options = options.Value;
    private readonly RecentBatches _batches = new();
    private EndpointDescriptor _descriptor = null!;
    private EndpointHealth _health = null!;
    private QuotaDesk _quota = null!;
    private readonly RoutingSubscribers _subscribers = RoutingSubscribers.For(options.Value, time, logger);
    private EndpointLoad _load;
    private IGrainTimer? _expiryTimer;

    private EndpointGrainState State => state.State;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
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
        // Leases granted by the previous activation are still being spent: the ledger carries them and the level over
        // (it documents what happens when the fleet changed the limits meanwhile).
        _quota = QuotaDesk.Create(QuotaLimits.PerMinute(_descriptor.TokensPerMinute, _descriptor.RequestsPerMinute), State.Quota,
            _options.Lease, time, _options.LeaseOutageShare);

        // The automatic breaker carries on from its last persisted transition (an open breaker stays open, its
        // cooldown and trip count intact); the admin's decision is restored exactly from its own record.
        if (State.Breaker is { } breaker)
        {
            _health.Endpoint.RestoreBreaker(breaker with { Override = null });
        }

        if (State.Override is { } saved && saved.IsActive(time.GetUtcNow()))
        {
            _health.SetOverride(saved);
            _health.DrainEvents();
            ScheduleExpiry(saved);
        }

        this.RegisterGrainTimer(EvaluateAsync, new GrainTimerCreationOptions(_options.EvaluationPeriod, _options.EvaluationPeriod));
        return Task.CompletedTask;
    }

    public async Task RecordOutcomesAsync(OutcomeBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (!_batches.TryAdd(batch.NodeId, batch.BatchId))
        {
            return;
        }

        foreach (var outcome in batch.Outcomes)
        {
            _health.Record(outcome.Sample, outcome.WorkloadClass);
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
        ArgumentException.ThrowIfNullOrWhiteSpace(change.Actor);
        ArgumentException.ThrowIfNullOrWhiteSpace(change.Reason);
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
            adminOverride = new AdminOverride(kind, change.Actor, change.Reason, now, change.Ttl is { } t ? now + t : null);
            _health.SetOverride(adminOverride);
        }
        else
        {
            _health.ClearOverride(change.Actor);
        }

        // Persisted even when nothing changed (an idempotent repeat), so the audit never records what storage lacks.
        await PublishAsync(_health.DrainEvents(), refreshLoad: false, persist: true, audit: () => AuditAsync(change, before));
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
    public Task<QuotaLease?> GrantLeaseAsync(LeaseRequest request) => _quota.GrantAsync(request, PersistQuotaAsync);

    public Task SettleLeaseAsync(string nodeId, LeaseSettlement settlement) => _quota.SettleAsync(nodeId, settlement, PersistQuotaAsync);

    public Task<string> GetHostAsync() => Task.FromResult(RuntimeIdentity);

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

        // Load figures move every period; nodes need them for balancing and timeout budgets.
        await PublishAsync(events, refreshLoad: true);
    }

    private async Task PublishAsync(IReadOnlyList<HealthEvent> events, bool refreshLoad, bool persist = false, Func<Task>? audit = null)
    {
        if (refreshLoad)
        {
            _load = LoadOf(_health.Endpoint.Window.Snapshot(time.GetUtcNow()));
        }

        State.Version = PublicationVersion.Next(State.Version, time);
        if (events.Count > 0 || persist)
        {
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
        await state.WriteOrReloadAsync(this);
    }

    private async Task PersistQuotaAsync()
    {
        State.Quota = _quota.Export();
        await state.WriteOrKeepAsync(this);
    }

    private Task AuditAsync(OverrideChange change, EndpointHealthView before)
    {
        var previous = before.Override is { } o ? AdminNames.Override(o.Kind) : "none";
        var expiry = change.Ttl is { } t ? $"; ttl {t.TotalSeconds:0}s" : "";
        var detail = $"previous override {previous}; breaker {AdminNames.Breaker(before.State)}{expiry}";
        return GrainFactory.GetGrain<IAuditTrailGrain>(AuditTrailGrain.Key)
            .AppendAsync(new AuditEntry(0, time.GetUtcNow(), change.Actor, change.AuditAction, _descriptor.Id, change.Reason, detail));
    }

    private EndpointStatus Status() => new(_descriptor.Id, _health.Current(), _load, State.Version);

    private EndpointDetails Details()
    {
        var now = time.GetUtcNow();
        var window = _health.Endpoint.Window.Snapshot(now);
        var breaker = _health.Endpoint.Breaker;
        var health = new HealthFigures(window.Requests, window.Successes, window.Failures, window.RateLimited, window.ErrorRate,
            window.LatencyP50?.TotalMilliseconds, window.LatencyP95?.TotalMilliseconds, window.LatencyP99?.TotalMilliseconds,
            window.QualityPassRate, _health.Endpoint.Window.DroppedLate);
        return new EndpointDetails(_descriptor, _health.Current(), breaker.AutomaticState, breaker.Trips, breaker.OpenUntil,
            health, _quota.Levels(), _quota.Holders(now), [.. State.RecentEvents], State.Version, RuntimeIdentity);
    }

    private static EndpointLoad LoadOf(in HealthSnapshot window) => new()
    {
        LatencyEwmaMs = window.LatencyP50?.TotalMilliseconds ?? 0,
        ErrorRate = window.ErrorRate,
        P50LatencyMs = window.LatencyP50?.TotalMilliseconds ?? 0,
        P95LatencyMs = window.LatencyP95?.TotalMilliseconds ?? 0,
    };
}
