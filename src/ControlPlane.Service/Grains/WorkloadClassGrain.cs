using ControlPlane.Domain.Endpoints;
using ControlPlane.Domain.Policy;
using ControlPlane.Domain.Quotas;
using ControlPlane.Domain.Slo;
using ControlPlane.Service.Admin;
using ControlPlane.Service.Audit;
using ControlPlane.Service.Governance;
using ControlPlane.Service.Security;
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

    /// <summary>The spend ceiling's ledger (UTC day and month) and its retry bookkeeping.</summary>
    [Id(4)]
    public SpendDeskState? Spend { get; set; }

    /// <summary>The runaway-cost baseline (saved with every write of the class's state).</summary>
    [Id(5)]
    public RunawayCostSnapshot? Runaway { get; set; }

    /// <summary>The SLO counts (<see cref="WorkloadSlo.Export"/>: non-empty minute and hour buckets, varint-coded), so
    /// error budgets and burn rates carry on across restarts and moves; written every
    /// <see cref="ControlPlaneOptions.LearnedStatePersistPeriod"/> and on deactivation.</summary>
    [Id(35)]
    public byte[]? SloCounts { get; set; }

    /// <summary>Audit entries of changes persisted here and not yet known to be in the trail (written with the change).</summary>
    [Id(61)]
    public AuditOutboxState? AuditOutbox { get; set; }
    /// <summary>The approved policy's version: 0 or 1 is the fleet file's; each applied proposal adds one.</summary>
    [Id(36)]
    public long PolicyVersion { get; set; }

    /// <summary>The proposal that set <see cref="Policy"/> (a retried apply of it is a no-op).</summary>
    [Id(37)]
    public string? AppliedProposalId { get; set; }

    /// <summary>The active break-glass, if any: its mode applies over <see cref="Policy"/>.</summary>
    [Id(38)]
    public Governance.ActiveBreakGlass? BreakGlass { get; set; }

    /// <summary>The class's alerts (state per key) and the counts their long windows read (docs/alerts.md).</summary>
    [Id(70)]
    public Alerting.AlertBookState? Alerts { get; set; }

    /// <summary>Outside the policy-home region (federation): the policy home's state last adopted (<c>docs/regions.md</c>).</summary>
    [Id(90)]
    public Federation.FollowedClass? FollowedClass { get; set; }

    /// <summary>Outside the policy-home region: policy changes made here, oldest first, not yet acknowledged there.</summary>
    [Id(91)]
    public List<Federation.ForwardedClassChange>? ClassOutbox { get; set; }

    /// <summary>The last sequence given to a change in <see cref="ClassOutbox"/>.</summary>
    [Id(92)]
    public long ClassSequence { get; set; }

    /// <summary>In the policy-home region: the last forwarded sequence applied, by origin region.</summary>
    [Id(93)]
    public Dictionary<string, long>? ClassForwardedApplied { get; set; }
}

/// <summary>The authority for one workload class: its policy (the fallback approval matrix), its SLO rings
/// and error budgets, the burn-rate and fallback-activation alerts, its token/request budget, leased to
/// nodes in slices like an endpoint's TPM/RPM, and its spend ceiling (USD per UTC day and month), leased the same way,
/// with the 80 %/100 % ceiling alerts and the runaway-cost alert.</summary>
[SpreadPlacement]
[GrainType("class")]
internal sealed partial class WorkloadClassGrain(
    [PersistentState("class", GrainStorage.Name)] IPersistentState<ClassGrainState> state,
    FleetCatalog catalog, IOptions<ControlPlaneOptions> options, TimeProvider time, ILogger<WorkloadClassGrain> logger, GrainHome home,
    Telemetry.GrainInstruments instruments)
    : Grain, IWorkloadClassGrain, IGrainMigrationParticipant
{
    private static readonly TimeSpan AlertPeriod = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan FallbackWindow = TimeSpan.FromMinutes(5);
    private readonly ControlPlaneOptions _options = options.Value;
    private readonly RecentBatches _batches = new();
    // The same decision reported twice counts once; the attempts of one request count as one request.
    private readonly SeenDecisions _seen = new(options.Value.DecisionIdLifetime);
    private readonly RequestAttempts _requests = new(options.Value.AttemptGrace);
    private WorkloadClassPolicy _policy = null!;
    private WorkloadClassPolicy _approved = null!;
    private WorkloadSlo _slo = null!;
    private readonly RoutingSubscribers _subscribers = RoutingSubscribers.For(options.Value, time, logger);
    private IReadOnlyList<HealthAlert> _alerts = [];
    private QuotaDesk _budget = null!;
    private bool _sloChanged;
    private bool _writeFailed;
    private SpendDesk _spend = null!;
    private RunawayCost _runaway = null!;
    private GrainAuditOutbox? _auditOutbox;

    private ClassGrainState State => state.State;

    private GrainAuditOutbox AuditOutbox => _auditOutbox ??= new GrainAuditOutbox(this, GrainFactory, () => State.AuditOutbox ??= new AuditOutboxState(), logger);

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var name = this.GetPrimaryKeyString();
        if (!catalog.Classes.TryGetValue(name, out var definition))
        {
            throw new InvalidOperationException($"Workload class '{name}' is not in the fleet catalog.");
        }

        // The budget is the fleet's, whatever policy the admin set: it is not an admin field, and a fleet change to it
        // must reach the grain (the ledger restore handles changed limits).
        _approved = (State.Policy ?? definition.Policy) with { Budget = definition.Policy.Budget, Spend = definition.Policy.Spend };
        _policy = ClassBreakGlass.Effective(_approved, State.BreakGlass, time.GetUtcNow());
        // Newer than anything an earlier activation published (see ProviderEndpointGrain).
        State.Version = PublicationVersion.Next(State.Version, time);
        _slo = new WorkloadSlo(name, new SloOptions
        {
            AvailabilityTarget = definition.Slo.Availability,
            QualityTarget = definition.Slo.Quality ?? new SloOptions().QualityTarget,
            BudgetPeriod = definition.Slo.Window,
            LatencyThreshold = definition.Slo.LatencyP95,
        });
        if (State.SloCounts is { } counts && !_slo.Restore(counts))
        {
            logger.LogWarning("Class {Class}: the persisted SLO counts could not be read in full; budgets restart from what could.", name);
        }

        _budget = QuotaDesk.Create(_policy.Budget, State.Quota, _options.Lease, time, _options.LeaseOutageShare);
        _spend = SpendDesk.Create(_policy.Spend, State.Spend, _options.Lease, time);
        _runaway = new RunawayCost(_options.Spend.RunawayCost);
        _runaway.Restore(State.Runaway);
        // The SLO gauges exist from activation (then refreshed every alert period), not only after the first minute.
        PublishSloGauges(time.GetUtcNow());
        this.RegisterGrainTimer(EvaluateAlertsAsync, new GrainTimerCreationOptions(AlertPeriod, AlertPeriod));
        // Not started: a failed push starts it, and it pushes the latest status to the nodes that missed it.
        _subscribers.UseRetryTimer(this.RegisterGrainTimer(_ => _subscribers.RetryLaggingAsync(),
            new GrainTimerCreationOptions(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan)));
        this.RegisterGrainTimer(_ => PersistSloAsync(), new GrainTimerCreationOptions(_options.LearnedStatePersistPeriod, _options.LearnedStatePersistPeriod));
        this.RegisterGrainTimer(_ =>
        {
            if (home.IsAway(this.GetGrainId()))
            {
                this.MigrateOnIdle();
            }

            return Task.CompletedTask;
        }, new GrainTimerCreationOptions(_options.EvaluationPeriod, _options.EvaluationPeriod));
        AuditOutbox.Resume();
        ResumeClassOutbox();
        return ResumeAlertsAsync();
    }

    public Task RecordOutcomesAsync(OutcomeBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (!_batches.TryAdd(batch.NodeId, batch.BatchId))
        {
            return Task.CompletedTask;
        }

        var now = time.GetUtcNow();
        foreach (var outcome in batch.Outcomes)
        {
            if (!_seen.TryAdd(outcome.DecisionKey, now))
            {
                continue;
            }

            var status = outcome.Sample.Status;
            // Only the endpoint's own failures and refusals spend the class's availability budget.
            bool available = !status.IsEndpointFailure() && status != OutcomeStatus.RateLimited;
            _requests.Record(_slo, outcome, available, now);
            _sloChanged = true;
            _runaway.Record(outcome.Sample.At, outcome.Sample.Cost, status == OutcomeStatus.Success);
            _alertRules.Record(outcome);
        }

        return Task.CompletedTask;
    }

    public async Task<ClassDetails> ApplyApprovedPolicyAsync(PolicyChange change)
    {
        ArgumentNullException.ThrowIfNull(change);
        ArgumentException.ThrowIfNullOrWhiteSpace(change.Actor.Principal);
        await AuditOutbox.EnsureRoomAsync();
        var name = this.GetPrimaryKeyString();
        if (string.IsNullOrWhiteSpace(change.ProposalId))
        {
            throw new AdminException(AdminErrorKind.Invalid, "proposalId", "a policy changes only through an approved proposal");
        }

        // The proposals grain retries an apply whose outcome it did not persist: the same proposal applies once.
        if (State.AppliedProposalId == change.ProposalId)
        {
            return Details();
        }

        var policy = change.Policy;
        if (!string.Equals(policy.Name, name, StringComparison.Ordinal))
        {
            throw new AdminException(AdminErrorKind.Invalid, "name", $"must be '{name}'");
        }

        // A change computed from an older version would silently undo the change made since: refuse it.
        if (change.ExpectedVersion != PolicyVersion)
        {
            throw new AdminException(AdminErrorKind.VersionConflict, "baseVersion",
                $"class '{name}' policy is at version {PolicyVersion}, not {change.ExpectedVersion}");
        }

        var errors = PolicyValidator.Validate(policy, catalog.Fleet.Catalog);
        if (errors.Count > 0)
        {
            throw new AdminException(AdminErrorKind.Invalid, errors[0].Field, errors[0].Message);
        }

        var previous = _approved;
        var previousVersion = PolicyVersion;
        policy = policy with { Budget = catalog.Classes[name].Policy.Budget, Spend = catalog.Classes[name].Policy.Spend };
        var saved = (State.Policy, State.PolicyChangedBy, State.Version, State.PolicyVersion, State.AppliedProposalId);
        State.Policy = policy;
        State.PolicyChangedBy = change.ProposedBy.Length > 0 ? change.ProposedBy : change.Actor.Principal;
        State.Version = PublicationVersion.Next(State.Version, time);
        State.PolicyVersion = previousVersion + 1;
        State.AppliedProposalId = change.ProposalId;
        var forward = StageClassForward(sequence => PolicyForward(sequence, change));
        // The audit entry is written with the change (one write), then delivered to the trail.
        var staged = AuditOutbox.Stage(new AuditEntry(0, time.GetUtcNow(), change.Actor,
            "class.policy", name, change.Reason, $"{AdminNames.DescribePolicy(previous)}; version {previousVersion}",
            $"{AdminNames.DescribePolicy(policy)}; version {State.PolicyVersion}, proposal {change.ProposalId} by {change.ProposedBy}, approved by {string.Join(", ", change.ApprovedBy)}")
        {
            EvalRef = change.EvalRef,
        });
        try
        {
            await PersistAsync();
        }
        catch
        {
            (State.Policy, State.PolicyChangedBy, State.Version, State.PolicyVersion, State.AppliedProposalId) = saved;
            State.AuditOutbox?.Pending.Remove(staged);
            UnstageClassForward(forward);
            throw;
        }

        _approved = policy;
        _policy = ClassBreakGlass.Effective(_approved, State.BreakGlass, time.GetUtcNow());
        await AuditOutbox.DeliverAsync();
        var status = Status();
        await _subscribers.NotifyAsync(o => o.OnClassChangedAsync(status));
        await ForwardStagedAsync(forward);
        return Details();
    }

    public async Task<ClassDetails> ForceModeAsync(BreakGlassChange change)
    {
        ArgumentNullException.ThrowIfNull(change);
        if (State.BreakGlass?.Id == change.Id)
        {
            return Details();
        }

        if (change.Mode is not (RoutingMode.QueueOnly or RoutingMode.Fail))
        {
            throw new AdminException(AdminErrorKind.Invalid, "mode", "break-glass forces queue_only or fail");
        }

        var now = time.GetUtcNow();
        var active = new ActiveBreakGlass(change.Id, change.Mode, change.Actor.Principal, change.Reason, now, now + change.Ttl);
        await ChangeBreakGlassAsync(active, change.Actor, "class.break_glass", change.Reason, forward: true);
        return Details();
    }

    public async Task<ActiveBreakGlass> ClearBreakGlassAsync(AdminActor actor, string reason)
    {
        ArgumentNullException.ThrowIfNull(actor);
        if (State.BreakGlass is not { } active || !active.IsActive(time.GetUtcNow()))
        {
            throw new AdminException(AdminErrorKind.Conflict, "breakGlass", $"class '{this.GetPrimaryKeyString()}' has no active break-glass");
        }

        await ChangeBreakGlassAsync(null, actor, "class.break_glass.clear", reason, forward: true);
        return active;
    }

    public Task<ClassDetails> GetDetailsAsync() => Task.FromResult(Details());

    public async Task<ClassStatus> SubscribeAsync(IRoutingObserver observer)
    {
        var before = _subscribers.Count;
        _subscribers.Subscribe(observer);
        var status = Status();
        if (_subscribers.Count > before)
        {
            // A new node takes a share of the retry budget's floor: the others' shares shrink before it routes.
            await _subscribers.NotifyAsync(o => o.OnClassChangedAsync(status));
        }

        return status;
    }

    // Lease writes keep the activation through a storage outage (the desk grants up to its outage share meanwhile).
    public async Task<QuotaLease?> GrantLeaseAsync(LeaseRequest request) => CountLease(await _budget.GrantAsync(request, PersistQuotaAsync));

    public Task SettleLeaseAsync(string nodeId, LeaseSettlement settlement) => _budget.SettleAsync(nodeId, settlement, PersistQuotaAsync);

    public Task<QuotaLease?> GrantSpendLeaseAsync(LeaseRequest request) => _spend.GrantAsync(request, PersistAsync);

    public Task SettleSpendLeaseAsync(string nodeId, LeaseSettlement settlement) => _spend.SettleAsync(nodeId, settlement, PersistAsync);

    public Task<string> GetHostAsync() => Task.FromResult(RuntimeIdentity);

    // A migration to the grain's home silo carries its subscribers; its persistent state travels by itself.
    public void OnDehydrate(IDehydrationContext dehydrationContext) => _subscribers.OnDehydrate(dehydrationContext);

    public void OnRehydrate(IRehydrationContext rehydrationContext) => _subscribers.OnRehydrate(rehydrationContext);

    // The counts are written on deactivation too (a restart, a move to the home silo), unless a write already failed:
    // then this activation holds changes storage refused, and the next one starts from what storage has.
    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        instruments.Forget("class", this.GetPrimaryKeyString());
        ForgetAlertGauge();
        try
        {
            await PersistSloAsync();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.LogWarning(e, "Class {Class}: SLO counts not persisted on deactivation ({Reason}).", this.GetPrimaryKeyString(), reason.Description);
        }
    }

    // The SLO counts are learned state: not written while the budget desk holds grants storage lacks (storage is
    // unreachable), and a write that fails for any reason but a conflict keeps the activation, so an outage never costs
    // the lease grants made through it. A conflict still reloads.
    private async Task PersistSloAsync()
    {
        if (!_sloChanged || _writeFailed || _budget.Unwritten)
        {
            return;
        }

        State.Quota = _budget.Export();
        State.SloCounts = _slo.Export();
        State.Spend = _spend.Export();
        State.Runaway = _runaway.Export();
        ExportAlertCounts();
        try
        {
            await state.WriteOrKeepAsync(this);
            _sloChanged = false;
            _budget.MarkWritten();
        }
        catch (Exception error) when (error is not (Orleans.Storage.InconsistentStateException or OperationCanceledException))
        {
            logger.LogWarning(error, "Class {Class}: SLO counts not written; retried with the next write.", _policy.Name);
        }
    }

    private async Task EvaluateAlertsAsync(CancellationToken cancellationToken)
    {
        if (State.BreakGlass is { } glass && !glass.IsActive(time.GetUtcNow()))
        {
            await ChangeBreakGlassAsync(null, AdminActor.System("break-glass-expiry"), "class.break_glass.expire", $"break-glass {glass.Id} expired");
        }

        _requests.Expire(_slo, time.GetUtcNow());
        _alerts = _slo.EvaluateAlerts(time.GetUtcNow());
        PublishSloGauges(time.GetUtcNow());
        await _budget.WriteDueAsync(PersistQuotaAsync);
        if (_spend.ExpireDue())
        {
            await PersistAsync();
        }

        await EvaluateAlertRulesAsync(time.GetUtcNow(), [.. _alerts, .. SpendAlertsNow(time.GetUtcNow())]);
    }

    // Every write carries the ledger as of now, so no write stores an older ledger.
    private async Task PersistAsync()
    {
        State.Quota = _budget.Export();
        State.SloCounts = _slo.Export();
        _sloChanged = false;
        State.Spend = _spend.Export();
        State.Runaway = _runaway.Export();
        ExportAlertCounts();
        try
        {
            await state.WriteOrReloadAsync(this);
            _budget.MarkWritten();
        }
        catch
        {
            _writeFailed = true;
            throw;
        }
    }

    private async Task PersistQuotaAsync()
    {
        State.Quota = _budget.Export();
        State.Spend = _spend.Export();
        await state.WriteOrKeepAsync(this);
    }

    private long PolicyVersion => Math.Max(1, State.PolicyVersion);

    // Sets or clears the break-glass: persisted, audited in the same turn, pushed to every node.
    private async Task ChangeBreakGlassAsync(ActiveBreakGlass? glass, AdminActor actor, string action, string reason, bool forward = false)
    {
        await AuditOutbox.EnsureRoomAsync();
        var before = _policy;
        var after = ClassBreakGlass.Effective(_approved, glass, time.GetUtcNow());
        var saved = (State.BreakGlass, State.Version);
        var id = glass?.Id ?? saved.BreakGlass?.Id ?? "";
        State.BreakGlass = glass;
        State.Version = PublicationVersion.Next(State.Version, time);
        var forwarded = forward ? StageClassForward(sequence => BreakGlassForward(sequence, glass, actor, reason)) : null;
        // The audit entry is written with the change (one write), then delivered to the trail.
        var staged = AuditOutbox.Stage(new AuditEntry(0, time.GetUtcNow(), actor, action, before.Name, reason, AdminNames.DescribePolicy(before),
            glass is null ? $"{AdminNames.DescribePolicy(after)} (break-glass {id} lifted)"
                : $"{AdminNames.DescribePolicy(after)} (break-glass {id}{(glass.ExpiresAt is { } until ? $" until {until:O}" : "")})"));
        try
        {
            await PersistAsync();
        }
        catch
        {
            (State.BreakGlass, State.Version) = saved;
            State.AuditOutbox?.Pending.Remove(staged);
            UnstageClassForward(forwarded);
            throw;
        }

        _policy = after;
        await AuditOutbox.DeliverAsync();
        var status = Status();
        await _subscribers.NotifyAsync(o => o.OnClassChangedAsync(status));
        await ForwardStagedAsync(forwarded);
    }

    private ClassStatus Status() => new(_policy.Name, _policy, State.Version, Math.Max(1, _subscribers.Count));

    private ClassDetails Details()
    {
        var now = time.GetUtcNow();
        _requests.Expire(_slo, now);
        return new ClassDetails(_policy, _slo.Budget(SloKind.Availability, now), _slo.Budget(SloKind.Quality, now),
            _slo.FallbackRate(now, FallbackWindow), [.. _alerts, .. SpendAlertsNow(now)], State.PolicyChangedBy, State.Version, _budget.Levels(),
            _budget.Holders(now), RuntimeIdentity, _spend.Levels(now))
        {
            Latency = _slo.Budget(SloKind.Latency, now),
            LatencyThreshold = catalog.Classes[_policy.Name].Slo.LatencyP95,
            ServedByFallback = _requests.ServedByFallback,
            PolicyVersion = PolicyVersion,
            BreakGlass = State.BreakGlass is { } glass && glass.IsActive(now) ? glass : null,
            ApprovedPolicy = _approved,
            Federation = ClassFederation(),
        };
    }

    // The spend alerts are evaluated when asked, from the ledger as it is now: a ceiling reached a second ago shows.
    private List<HealthAlert> SpendAlertsNow(DateTimeOffset now)
    {
        var alerts = new List<HealthAlert>(3);
        if (_spend.Figures() is { } figures)
        {
            alerts.AddRange(SpendAlerts.Ceiling(figures, now));
        }

        if (_runaway.Evaluate(now) is { } runaway)
        {
            alerts.Add(runaway);
        }

        return alerts;
    }
}
