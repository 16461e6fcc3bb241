using ControlPlane.Domain.Breakers;
using ControlPlane.Domain.Endpoints;
using ControlPlane.Domain.Health;
using ControlPlane.Domain.Quotas;
using ControlPlane.Domain.Routing;
using ControlPlane.Grains;
using ControlPlane.Grains.Observers;
using Microsoft.Extensions.Options;

namespace ControlPlane.Service.Grains;

/// <summary>Persisted state of an endpoint grain: what must survive a restart or a move.</summary>
internal sealed class EndpointGrainState
{
    /// <summary>The active admin override (with actor, reason, expiry).</summary>
    public AdminOverride? Override { get; set; }

    /// <summary>The endpoint-wide breaker as last published (trips, cooldown, state) for the record.</summary>
    public BreakerSnapshot? Breaker { get; set; }

    /// <summary>The newest breaker events.</summary>
    public List<BreakerEvent> RecentEvents { get; set; } = [];

    /// <summary>Publication counter; survives restarts so nodes never see a version go back.</summary>
    public long Version { get; set; }

    /// <summary>The quota lease ledger (bucket levels, live leases, next lease id) as of its last change, so a new
    /// activation holds the same leases and level instead of starting with a full bucket.</summary>
    public QuotaLedgerSnapshot? Ledger { get; set; }
}

/// <summary>The authority for one provider endpoint: outcomes go in, breaker transitions and overrides come out
/// (persisted, then pushed to every subscribed node); quota leases are carved from its TPM/RPM buckets.</summary>
[GrainType("endpoint")]
internal sealed class ProviderEndpointGrain(FleetCatalog catalog, IOptions<ControlPlaneOptions> options)
    : Grain<EndpointGrainState>, IProviderEndpointGrain
{
    private readonly ControlPlaneOptions _options = options.Value;
    private EndpointDescriptor _descriptor = null!;
    private EndpointHealth _health = null!;
    private QuotaDesk _quota = null!;
    private ObserverSubscriptions<IRoutingObserver> _subscribers = null!;
    private EndpointLoad _load;
    private IDisposable? _expiryTimer;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var id = GetPrimaryKeyString();
        if (!catalog.Endpoints.TryGetValue(id, out var entry))
        {
            throw new InvalidOperationException($"Endpoint '{id}' is not in the fleet catalog.");
        }

        _descriptor = entry.Descriptor;
        _health = new EndpointHealth(id, _options.Health, TimeProvider);
        _subscribers = new ObserverSubscriptions<IRoutingObserver>(_options.SubscriptionExpiry, TimeProvider);
        // Leases granted by the previous activation are still being spent: the ledger carries them and the level over
        // (it documents what happens when the fleet changed the limits meanwhile).
        _quota = QuotaDesk.Create(QuotaLimits.PerMinute(_descriptor.TokensPerMinute, _descriptor.RequestsPerMinute), State.Ledger,
            _options.Lease, TimeProvider);

        // The automatic breaker carries on from its last persisted transition (an open breaker stays open, its
        // cooldown and trip count intact); the admin's decision is restored exactly from its own record.
        if (State.Breaker is { } breaker)
        {
            _health.Endpoint.RestoreBreaker(breaker with { Override = null });
        }

        if (State.Override is { } saved && saved.IsActive(TimeProvider.GetUtcNow()))
        {
            _health.SetOverride(saved);
            _health.DrainEvents();
            ScheduleExpiry(saved);
        }

        RegisterTimer(EvaluateAsync, _options.EvaluationPeriod, _options.EvaluationPeriod);
        return Task.CompletedTask;
    }

    public async Task RecordOutcomesAsync(IReadOnlyList<OutcomeRecord> outcomes)
    {
        ArgumentNullException.ThrowIfNull(outcomes);
        foreach (var outcome in outcomes)
        {
            _health.Record(outcome.Sample, outcome.WorkloadClass);
        }

        var events = _health.DrainEvents();
        if (events.Count > 0)
        {
            await PublishAsync(events, refreshLoad: true);
        }
    }

    public async Task<EndpointDetails> SetOverrideAsync(OverrideKind kind, string actor, string reason, TimeSpan? ttl)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(actor);
        ArgumentException.ThrowIfNullOrWhiteSpace(reason);
        var now = TimeProvider.GetUtcNow();
        var adminOverride = new AdminOverride(kind, actor, reason, now, ttl is { } t ? now + t : null);
        _health.SetOverride(adminOverride);
        await PublishAsync(_health.DrainEvents(), refreshLoad: false);
        ScheduleExpiry(adminOverride);
        return Details();
    }

    public async Task<EndpointDetails> ClearOverrideAsync(string actor, string reason)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(actor);
        if (_health.ClearOverride(actor))
        {
            await PublishAsync(_health.DrainEvents(), refreshLoad: false);
        }

        return Details();
    }

    public Task<EndpointDetails> GetDetailsAsync() => Task.FromResult(Details());

    public Task<EndpointStatus> SubscribeAsync(IRoutingObserver observer)
    {
        _subscribers.Subscribe(observer);
        return Task.FromResult(Status());
    }

    public Task<QuotaLease?> GrantLeaseAsync(string nodeId, long tokens, long requests) =>
        _quota.GrantAsync(nodeId, tokens, requests, PersistAsync);

    public Task SettleLeaseAsync(LeaseSettlement settlement) => _quota.SettleAsync(settlement, PersistAsync);

    // Nodes learn of an expiry when it happens, not at the next evaluation period.
    private void ScheduleExpiry(AdminOverride adminOverride)
    {
        _expiryTimer?.Dispose();
        _expiryTimer = null;
        if (adminOverride.ExpiresAt is { } at)
        {
            var due = at - TimeProvider.GetUtcNow();
            _expiryTimer = RegisterTimer(EvaluateAsync, due > TimeSpan.Zero ? due : TimeSpan.Zero, Timeout.InfiniteTimeSpan);
        }
    }

    private async Task EvaluateAsync(CancellationToken cancellationToken)
    {
        var events = _health.Evaluate();
        bool expired = _quota.ExpireDue();

        // Load figures move every period; nodes need them for balancing and timeout budgets.
        await PublishAsync(events, refreshLoad: true, persist: expired);
    }

    private async Task PublishAsync(IReadOnlyList<HealthEvent> events, bool refreshLoad, bool persist = false)
    {
        if (refreshLoad)
        {
            _load = LoadOf(_health.Endpoint.Window.Snapshot(TimeProvider.GetUtcNow()));
        }

        State.Version++;
        if (events.Count > 0)
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
        }

        if (events.Count > 0 || persist)
        {
            // Persist before pushing: a node must never act on a change that a restart would undo.
            await PersistAsync();
        }

        var status = Status();
        await _subscribers.NotifyAsync(observer => observer.OnEndpointChangedAsync(status));
    }

    // Every write carries the ledger as of now, so no write (breaker, override or lease) stores an older ledger.
    private Task PersistAsync()
    {
        State.Ledger = _quota.Export();
        return WriteStateAsync();
    }

    private EndpointStatus Status() => new(_descriptor.Id, _health.Current(), _load, State.Version);

    private EndpointDetails Details()
    {
        var now = TimeProvider.GetUtcNow();
        var window = _health.Endpoint.Window.Snapshot(now);
        var breaker = _health.Endpoint.Breaker;
        var quota = _quota.Levels();
        var leases = _quota.Holders(now);
        var health = new HealthFigures(window.Requests, window.Successes, window.Failures, window.RateLimited, window.ErrorRate,
            window.LatencyP50?.TotalMilliseconds, window.LatencyP95?.TotalMilliseconds, window.LatencyP99?.TotalMilliseconds,
            window.QualityPassRate, _health.Endpoint.Window.DroppedLate);
        return new EndpointDetails(_descriptor, _health.Current(), breaker.AutomaticState, breaker.Trips, breaker.OpenUntil,
            health, quota, leases, [.. State.RecentEvents], State.Version);
    }

    private static EndpointLoad LoadOf(in HealthSnapshot window) => new()
    {
        LatencyEwmaMs = window.LatencyP50?.TotalMilliseconds ?? 0,
        ErrorRate = window.ErrorRate,
        P50LatencyMs = window.LatencyP50?.TotalMilliseconds ?? 0,
        P95LatencyMs = window.LatencyP95?.TotalMilliseconds ?? 0,
    };
}
