using ControlPlane.Domain.Endpoints;
using ControlPlane.Domain.Policy;
using ControlPlane.Domain.Quotas;
using ControlPlane.Domain.Slo;
using ControlPlane.Service.Admin;
using ControlPlane.Service.Audit;
using Microsoft.Extensions.Logging;
using ControlPlane.Service.Placement;
using Microsoft.Extensions.Options;

namespace ControlPlane.Service.Grains;

/// <summary>Persisted state of a workload class grain.</summary>
[GenerateSerializer, Alias("cp.ClassGrainState")]
public sealed class ClassGrainState
{
    /// <summary>A policy set through the admin path; null means the fleet file's policy applies.</summary>
    [Id(0)]
    public WorkloadClassPolicy? Policy { get; set; }

    /// <summary>Who set <see cref="Policy"/>.</summary>
    [Id(1)]
    public string? PolicyChangedBy { get; set; }

    /// <summary>Publication version; never goes back (see <see cref="PublicationVersion"/>).</summary>
    [Id(2)]
    public long Version { get; set; }

    /// <summary>The budget's lease ledger and its retry bookkeeping, so a move never refills it early.</summary>
    [Id(3)]
    public QuotaDeskState? Quota { get; set; }
}

/// <summary>The authority for one workload class: its policy (the fallback approval matrix), its SLO rings
/// and error budgets, the burn-rate and fallback-activation alerts, and its token/request budget, leased to
/// nodes in slices like an endpoint's TPM/RPM.</summary>
[SpreadPlacement]
[GrainType("class")]
internal sealed class WorkloadClassGrain(
    [PersistentState("class", GrainStorage.Name)] IPersistentState<ClassGrainState> state,
    FleetCatalog catalog, IOptions<ControlPlaneOptions> options, TimeProvider time, ILogger<WorkloadClassGrain> logger, GrainHome home)
    : Grain, IWorkloadClassGrain, IGrainMigrationParticipant
{
    private static readonly TimeSpan AlertPeriod = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan FallbackWindow = TimeSpan.FromMinutes(5);
    private readonly ControlPlaneOptions _options = options.Value;
    private readonly RecentBatches _batches = new();
    private WorkloadClassPolicy _policy = null!;
    private WorkloadSlo _slo = null!;
    private readonly RoutingSubscribers _subscribers = RoutingSubscribers.For(options.Value, time, logger);
    private IReadOnlyList<HealthAlert> _alerts = [];
    private QuotaDesk _budget = null!;

    private ClassGrainState State => state.State;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var name = this.GetPrimaryKeyString();
        if (!catalog.Classes.TryGetValue(name, out var definition))
        {
            throw new InvalidOperationException($"Workload class '{name}' is not in the fleet catalog.");
        }

        // The budget is the fleet's, whatever policy the admin set: it is not an admin field, and a fleet change to it
        // must reach the grain (the ledger restore handles changed limits).
        _policy = (State.Policy ?? definition.Policy) with { Budget = definition.Policy.Budget };
        // Newer than anything an earlier activation published (see ProviderEndpointGrain).
        State.Version = PublicationVersion.Next(State.Version, time);
        _slo = new WorkloadSlo(name, new SloOptions
        {
            AvailabilityTarget = definition.Slo.Availability,
            QualityTarget = definition.Slo.Quality ?? new SloOptions().QualityTarget,
            BudgetPeriod = definition.Slo.Window,
        });
        _budget = QuotaDesk.Create(_policy.Budget, State.Quota, _options.Lease, time, _options.LeaseOutageShare);
        this.RegisterGrainTimer(EvaluateAlertsAsync, new GrainTimerCreationOptions(AlertPeriod, AlertPeriod));
        this.RegisterGrainTimer(_ =>
        {
            if (home.IsAway(this.GetGrainId()))
            {
                this.MigrateOnIdle();
            }

            return Task.CompletedTask;
        }, new GrainTimerCreationOptions(_options.EvaluationPeriod, _options.EvaluationPeriod));
        return Task.CompletedTask;
    }

    public Task RecordOutcomesAsync(OutcomeBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (!_batches.TryAdd(batch.NodeId, batch.BatchId))
        {
            return Task.CompletedTask;
        }

        foreach (var outcome in batch.Outcomes)
        {
            var status = outcome.Sample.Status;
            // Only the endpoint's own failures and refusals spend the class's availability budget.
            bool available = !status.IsEndpointFailure() && status != OutcomeStatus.RateLimited;
            _slo.Record(outcome.Sample.At, available, outcome.Sample.Quality, outcome.Fallback);
        }

        return Task.CompletedTask;
    }

    public async Task<ClassDetails> SetPolicyAsync(PolicyChange change)
    {
        ArgumentNullException.ThrowIfNull(change);
        ArgumentException.ThrowIfNullOrWhiteSpace(change.Actor);
        var name = this.GetPrimaryKeyString();
        var policy = change.Policy;
        if (!string.Equals(policy.Name, name, StringComparison.Ordinal))
        {
            throw new AdminException(AdminErrorKind.Invalid, "name", $"must be '{name}'");
        }

        // A change computed from an older version would silently undo the change made since: refuse it.
        if (change.ExpectedVersion != State.Version)
        {
            throw new AdminException(AdminErrorKind.VersionConflict, "expectedVersion",
                $"class '{name}' is at version {State.Version}, not {change.ExpectedVersion}; read it again and retry");
        }

        var errors = PolicyValidator.Validate(policy, catalog.Fleet.Catalog);
        if (errors.Count > 0)
        {
            throw new AdminException(AdminErrorKind.Invalid, errors[0].Field, errors[0].Message);
        }

        var previous = _policy;
        policy = policy with { Budget = catalog.Classes[name].Policy.Budget };
        var saved = (State.Policy, State.PolicyChangedBy, State.Version);
        State.Policy = policy;
        State.PolicyChangedBy = change.Actor;
        State.Version = PublicationVersion.Next(State.Version, time);
        try
        {
            await PersistAsync();
        }
        catch
        {
            (State.Policy, State.PolicyChangedBy, State.Version) = saved;
            throw;
        }

        _policy = policy;
        await GrainFactory.GetGrain<IAuditTrailGrain>(AuditTrailGrain.Key).AppendAsync(new AuditEntry(0, time.GetUtcNow(), change.Actor,
            "class.policy", name, change.Reason, $"was {AdminNames.DescribePolicy(previous)}; now {AdminNames.DescribePolicy(policy)}"));
        var status = Status();
        await _subscribers.NotifyAsync(o => o.OnClassChangedAsync(status));
        return Details();
    }

    public Task<ClassDetails> GetDetailsAsync() => Task.FromResult(Details());

    public Task<ClassStatus> SubscribeAsync(IRoutingObserver observer)
    {
        _subscribers.Subscribe(observer);
        return Task.FromResult(Status());
    }

    // Lease writes keep the activation through a storage outage (the desk grants up to its outage share meanwhile).
    public Task<QuotaLease?> GrantLeaseAsync(LeaseRequest request) => _budget.GrantAsync(request, PersistQuotaAsync);

    public Task SettleLeaseAsync(string nodeId, LeaseSettlement settlement) => _budget.SettleAsync(nodeId, settlement, PersistQuotaAsync);

    public Task<string> GetHostAsync() => Task.FromResult(RuntimeIdentity);

    // A migration to the grain's home silo carries its subscribers; its persistent state travels by itself.
    public void OnDehydrate(IDehydrationContext dehydrationContext) => _subscribers.OnDehydrate(dehydrationContext);

    public void OnRehydrate(IRehydrationContext rehydrationContext) => _subscribers.OnRehydrate(rehydrationContext);

    private async Task EvaluateAlertsAsync(CancellationToken cancellationToken)
    {
        _alerts = _slo.EvaluateAlerts(time.GetUtcNow());
        await _budget.WriteDueAsync(PersistQuotaAsync);
    }

    // Every write carries the ledger as of now, so no write stores an older ledger.
    private async Task PersistAsync()
    {
        State.Quota = _budget.Export();
        await state.WriteOrReloadAsync(this);
    }

    private async Task PersistQuotaAsync()
    {
        State.Quota = _budget.Export();
        await state.WriteOrKeepAsync(this);
    }

    private ClassStatus Status() => new(_policy.Name, _policy, State.Version);

    private ClassDetails Details()
    {
        var now = time.GetUtcNow();
        return new ClassDetails(_policy, _slo.Budget(SloKind.Availability, now), _slo.Budget(SloKind.Quality, now),
            _slo.FallbackRate(now, FallbackWindow), _alerts, State.PolicyChangedBy, State.Version, _budget.Levels(), _budget.Holders(now),
            RuntimeIdentity);
    }
}
