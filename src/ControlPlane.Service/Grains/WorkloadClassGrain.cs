using ControlPlane.Domain.Endpoints;
using ControlPlane.Domain.Policy;
using ControlPlane.Domain.Quotas;
using ControlPlane.Domain.Slo;
using ControlPlane.Grains;
using ControlPlane.Grains.Observers;
using Microsoft.Extensions.Options;

namespace ControlPlane.Service.Grains;

/// <summary>Persisted state of a workload class grain.</summary>
internal sealed class ClassGrainState
{
    /// <summary>A policy set through the admin path; null means the fleet file's policy applies.</summary>
    public WorkloadClassPolicy? Policy { get; set; }

    /// <summary>Who set <see cref="Policy"/>.</summary>
    public string? PolicyChangedBy { get; set; }

    /// <summary>Publication counter.</summary>
    public long Version { get; set; }

    /// <summary>The budget's lease ledger (levels and outstanding leases), so a move never refills it early.</summary>
    public QuotaLedgerSnapshot? Ledger { get; set; }
}

/// <summary>The authority for one workload class: its policy (the fallback approval matrix), its SLO rings
/// and error budgets, the burn-rate and fallback-activation alerts, and its token/request budget, leased to
/// nodes in slices like an endpoint's TPM/RPM.</summary>
[GrainType("class")]
internal sealed class WorkloadClassGrain(FleetCatalog catalog, IOptions<ControlPlaneOptions> options)
    : Grain<ClassGrainState>, IWorkloadClassGrain
{
    private static readonly TimeSpan AlertPeriod = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan FallbackWindow = TimeSpan.FromMinutes(5);
    private readonly ControlPlaneOptions _options = options.Value;
    private WorkloadClassPolicy _policy = null!;
    private WorkloadSlo _slo = null!;
    private ObserverSubscriptions<IRoutingObserver> _subscribers = null!;
    private IReadOnlyList<HealthAlert> _alerts = [];
    private QuotaDesk _budget = null!;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var name = GetPrimaryKeyString();
        if (!catalog.Classes.TryGetValue(name, out var definition))
        {
            throw new InvalidOperationException($"Workload class '{name}' is not in the fleet catalog.");
        }

        // The budget is the fleet's, whatever policy the admin set: it is not an admin field, and a fleet change to it
        // must reach the grain (the ledger restore handles changed limits).
        _policy = (State.Policy ?? definition.Policy) with { Budget = definition.Policy.Budget };
        _slo = new WorkloadSlo(name, new SloOptions
        {
            AvailabilityTarget = definition.Slo.Availability,
            QualityTarget = definition.Slo.Quality ?? new SloOptions().QualityTarget,
            BudgetPeriod = definition.Slo.Window,
        });
        _subscribers = new ObserverSubscriptions<IRoutingObserver>(_options.SubscriptionExpiry, TimeProvider);
        _budget = QuotaDesk.Create(_policy.Budget, State.Ledger, _options.Lease, TimeProvider);
        RegisterTimer(_ => EvaluateAlerts(), AlertPeriod, AlertPeriod);
        return Task.CompletedTask;
    }

    public Task RecordOutcomesAsync(IReadOnlyList<OutcomeRecord> outcomes)
    {
        ArgumentNullException.ThrowIfNull(outcomes);
        foreach (var outcome in outcomes)
        {
            var status = outcome.Sample.Status;
            // Only the endpoint's own failures and refusals spend the class's availability budget.
            bool available = !status.IsEndpointFailure() && status != OutcomeStatus.RateLimited;
            _slo.Record(outcome.Sample.At, available, outcome.Sample.Quality, outcome.Fallback);
        }

        return Task.CompletedTask;
    }

    public async Task<ClassDetails> SetPolicyAsync(WorkloadClassPolicy policy, string actor, string reason)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentException.ThrowIfNullOrWhiteSpace(actor);
        if (!string.Equals(policy.Name, GetPrimaryKeyString(), StringComparison.Ordinal))
        {
            throw new PolicyValidationException(policy.Name, [new PolicyError("name", $"must be '{GetPrimaryKeyString()}'")]);
        }

        PolicyValidator.ThrowIfInvalid(policy, catalog.Fleet.Catalog);
        policy = policy with { Budget = catalog.Classes[GetPrimaryKeyString()].Policy.Budget };
        _policy = policy;
        State.Policy = policy;
        State.PolicyChangedBy = actor;
        State.Version++;
        await PersistAsync();
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

    public Task<QuotaLease?> GrantLeaseAsync(string nodeId, long tokens, long requests) =>
        _budget.GrantAsync(nodeId, tokens, requests, PersistAsync);

    public Task SettleLeaseAsync(LeaseSettlement settlement) => _budget.SettleAsync(settlement, PersistAsync);

    private async Task EvaluateAlerts()
    {
        _alerts = _slo.EvaluateAlerts(TimeProvider.GetUtcNow());
        if (_budget.ExpireDue())
        {
            await PersistAsync();
        }
    }

    // Every write carries the ledger as of now, so no write stores an older ledger.
    private Task PersistAsync()
    {
        State.Ledger = _budget.Export();
        return WriteStateAsync();
    }

    private ClassStatus Status() => new(_policy.Name, _policy, State.Version);

    private ClassDetails Details()
    {
        var now = TimeProvider.GetUtcNow();
        return new ClassDetails(_policy, _slo.Budget(SloKind.Availability, now), _slo.Budget(SloKind.Quality, now),
            _slo.FallbackRate(now, FallbackWindow), _alerts, State.PolicyChangedBy, State.Version, _budget.Levels(), _budget.Holders(now));
    }
}
