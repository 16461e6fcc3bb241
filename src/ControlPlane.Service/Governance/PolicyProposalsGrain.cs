using ControlPlane.Domain.Policy;
using ControlPlane.Service.Admin;
using ControlPlane.Service.Audit;
using ControlPlane.Service.Grains;
using ControlPlane.Service.Security;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ControlPlane.Service.Governance;

/// <summary>Persisted governance of one class: proposals, version history, break-glass records.</summary>
[GenerateSerializer, Alias("cp.PolicyProposalsState")]
public sealed class PolicyProposalsState
{
    /// <summary>Pending proposals and the most recent decided ones, oldest first.</summary>
    [Id(0)]
    public List<PolicyProposal> Proposals { get; set; } = [];

    /// <summary>Every applied version, oldest first (version 1: the fleet file's policy).</summary>
    [Id(1)]
    public List<PolicyVersionRecord> History { get; set; } = [];

    /// <summary>Break-glass records: every unreviewed one and the most recent reviewed ones, oldest first.</summary>
    [Id(2)]
    public List<BreakGlassRecord> BreakGlass { get; set; } = [];

    /// <summary>The last proposal number handed out.</summary>
    [Id(3)]
    public long LastProposal { get; set; }

    /// <summary>The last break-glass number handed out.</summary>
    [Id(4)]
    public long LastBreakGlass { get; set; }

    /// <summary>Audit entries of steps persisted here and not yet known to be in the trail (written with the step).</summary>
    [Id(5)]
    public AuditOutboxState? AuditOutbox { get; set; }
}

/// <summary>The two-person path to a class's policy (see <see cref="IPolicyProposalsGrain"/>). One activation per class
/// serializes everything that changes the class's policy, so a proposal's base version is checked against the version
/// every other change went through. The class grain checks it again when it applies (and applies a proposal once).</summary>
[GrainType("policy-proposals")]
internal sealed class PolicyProposalsGrain(
    [PersistentState("proposals", GrainStorage.Name)] IPersistentState<PolicyProposalsState> state,
    FleetCatalog catalog, IOptions<ControlPlaneOptions> options, TimeProvider time, ILogger<PolicyProposalsGrain> logger)
    : Grain, IPolicyProposalsGrain
{
    /// <summary>Most pending proposals a class may have at once.</summary>
    internal const int MaxPending = 32;

    /// <summary>Decided proposals kept for listing (the audit trail keeps every step).</summary>
    internal const int DecidedKept = 100;

    /// <summary>Newest versions kept in the history (the state is rewritten with every step; the audit trail keeps
    /// every applied policy, before and after).</summary>
    internal const int HistoryKept = 100;

    /// <summary>Reviewed break-glass records kept for listing (unreviewed ones are always kept).</summary>
    internal const int ReviewedBreakGlassKept = 100;

    private GrainAuditOutbox? _auditOutbox;

    private PolicyProposalsState State => state.State;

    private GrainAuditOutbox AuditOutbox => _auditOutbox ??= new GrainAuditOutbox(this, GrainFactory, () => State.AuditOutbox ??= new AuditOutboxState(), logger);

    private string Name => this.GetPrimaryKeyString();

    private long CurrentVersion => State.History[^1].Version;

    private IWorkloadClassGrain Class => GrainFactory.GetGrain<IWorkloadClassGrain>(Name);

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (!catalog.Classes.TryGetValue(Name, out var definition))
        {
            throw new InvalidOperationException($"Workload class '{Name}' is not in the fleet catalog.");
        }

        if (State.History.Count == 0)
        {
            // Version 1 is the fleet file's policy; it is written with the first change.
            State.History.Add(new PolicyVersionRecord(1, definition.Policy, time.GetUtcNow(), null, "fleet", []));
        }

        AuditOutbox.Resume();
        return Task.CompletedTask;
    }

    public async Task<PolicyProposal> ProposeAsync(ProposalRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        await ExpireDueAsync();
        await FollowClassVersionAsync();
        ApprovalRules.Require(request.Actor, "proposing a policy change", Roles.PolicyAuthor);
        if (request.BaseVersion != CurrentVersion)
        {
            throw new AdminException(AdminErrorKind.VersionConflict, "expectedVersion",
                $"class '{Name}' policy is at version {CurrentVersion}, not {request.BaseVersion}; read it again and retry");
        }

        Validate(request.Policy);
        if (State.Proposals.Count(p => p.State == ProposalStates.Pending) >= MaxPending)
        {
            throw new AdminException(AdminErrorKind.Conflict, "class",
                $"class '{Name}' has {MaxPending} pending proposals; approve, reject or let some expire first");
        }

        return await AddProposalAsync(request, null);
    }

    public async Task<PolicyProposal> RevertAsync(AdminActor actor, string reason, string? evalRef)
    {
        ArgumentNullException.ThrowIfNull(actor);
        await ExpireDueAsync();
        await FollowClassVersionAsync();
        ApprovalRules.Require(actor, "proposing a revert", Roles.PolicyAuthor);
        if (State.History.Count < 2)
        {
            throw new AdminException(AdminErrorKind.Conflict, "class",
                $"class '{Name}' is at version {CurrentVersion}, the first: there is no earlier version to revert to");
        }

        var previous = State.History[^2];
        Validate(previous.Policy with { Name = Name });
        return await AddProposalAsync(new ProposalRequest(previous.Policy with { Name = Name }, actor, reason, evalRef, CurrentVersion), previous.Version);
    }

    public async Task<PolicyProposal> ApproveAsync(string id, AdminActor actor, string? reason)
    {
        ArgumentNullException.ThrowIfNull(actor);
        await ExpireDueAsync();
        await FollowClassVersionAsync();
        var (index, proposal) = Find(id);
        if (proposal.Approvals.Any(a => a.Principal == actor.Principal) && proposal.State == ProposalStates.Applied)
        {
            return proposal;
        }

        if (proposal.State != ProposalStates.Pending)
        {
            throw new AdminException(AdminErrorKind.Conflict, "id", $"proposal {id} is {proposal.State}");
        }

        if (proposal.BaseVersion != CurrentVersion)
        {
            await SupersedeAsync(index, actor, $"the class's policy is at version {CurrentVersion}, not the proposal's base {proposal.BaseVersion}");
        }

        if (!proposal.Approvals.Any(a => a.Principal == actor.Principal))
        {
            var role = ApprovalRules.RoleFilledBy(proposal, actor);
            var credential = await GrainFactory.GetGrain<IApiKeyStoreGrain>(ApiKeyStoreGrain.Key).GetAsync(actor.CredentialId);
            ApprovalRules.RequireIndependentCredential(proposal, actor, credential);
            // Re-validated before the approval is recorded: an approval of a policy that no longer validates changes nothing.
            Validate(proposal.Policy);
            var now = time.GetUtcNow();
            proposal = proposal with { Approvals = [.. proposal.Approvals, new ProposalApproval(actor.Principal, role, now, reason)] };
            State.Proposals[index] = proposal;
            await CommitAsync(Entry(actor, "policy.approve", id, reason ?? "approved", "", $"approved as {role}", proposal.EvalRef));
        }

        // A retry after a failure between the approval and the apply finds the approval in and applies it now.
        return ApprovalRules.Complete(proposal) ? await ApplyAsync(index, proposal, actor) : proposal;
    }

    public async Task<PolicyProposal> RejectAsync(string id, AdminActor actor, string reason)
    {
        ArgumentNullException.ThrowIfNull(actor);
        await ExpireDueAsync();
        ApprovalRules.Require(actor, "rejecting a proposal", Roles.PolicyApprover, Roles.ComplianceApprover);
        var (index, proposal) = Find(id);
        if (proposal.State == ProposalStates.Rejected && proposal.ClosedBy == actor.Principal)
        {
            return proposal;
        }

        if (proposal.State != ProposalStates.Pending)
        {
            throw new AdminException(AdminErrorKind.Conflict, "id", $"proposal {id} is {proposal.State}");
        }

        proposal = proposal with { State = ProposalStates.Rejected, ClosedAt = time.GetUtcNow(), ClosedBy = actor.Principal, CloseReason = reason };
        State.Proposals[index] = proposal;
        await CommitAsync(Entry(actor, "policy.reject", id, reason, ProposalStates.Pending, ProposalStates.Rejected, proposal.EvalRef));
        return proposal;
    }

    public async Task<PolicyProposal?> GetAsync(string id)
    {
        await ExpireDueAsync();
        return State.Proposals.FirstOrDefault(p => p.Id == id);
    }

    public async Task<IReadOnlyList<PolicyProposal>> ListAsync()
    {
        await ExpireDueAsync();
        return [.. State.Proposals];
    }

    public Task<IReadOnlyList<PolicyVersionRecord>> GetHistoryAsync() => Task.FromResult<IReadOnlyList<PolicyVersionRecord>>([.. State.History]);

    public async Task<BreakGlassRecord> BreakGlassAsync(BreakGlassCommand command, AdminActor actor)
    {
        ArgumentNullException.ThrowIfNull(command);
        ArgumentNullException.ThrowIfNull(actor);
        ApprovalRules.Require(actor, "break-glass", Roles.Operator);
        // The number is taken (persisted) before the class grain records the break-glass: a failure after that never
        // hands the same id to a different break-glass, which the class grain would take for a retry and ignore.
        State.LastBreakGlass++;
        await state.WriteOrReloadAsync(this);
        var id = $"{Name}~bg{State.LastBreakGlass}";
        // The class grain persists, audits and pushes it first (a retry with the same id is a no-op there).
        var details = await Class.ForceModeAsync(new BreakGlassChange(id, command.Mode, actor, command.Reason, command.Ttl));
        var active = details.BreakGlass ?? throw new InvalidOperationException("the class grain did not record the break-glass");
        var now = time.GetUtcNow();
        for (var i = 0; i < State.BreakGlass.Count; i++)
        {
            if (State.BreakGlass[i].ClearedAt is null && State.BreakGlass[i].Id != active.Id)
            {
                State.BreakGlass[i] = State.BreakGlass[i] with { ClearedAt = now, ClearedBy = actor.Principal, ClearReason = $"replaced by {active.Id}" };
            }
        }

        var record = State.BreakGlass.FirstOrDefault(r => r.Id == active.Id);
        if (record is null)
        {
            record = new BreakGlassRecord(active.Id, Name, AdminNames.Mode(active.Mode), active.SetBy, active.Reason, active.At, active.ExpiresAt);
            State.BreakGlass.Add(record);
        }

        State.LastBreakGlass = Math.Max(State.LastBreakGlass, Number(active.Id));
        TrimBreakGlass();
        await state.WriteOrReloadAsync(this);
        return record;
    }

    public async Task<BreakGlassRecord> ClearBreakGlassAsync(AdminActor actor, string reason)
    {
        ArgumentNullException.ThrowIfNull(actor);
        ApprovalRules.Require(actor, "clearing a break-glass", Roles.Operator);
        var cleared = await Class.ClearBreakGlassAsync(actor, reason);
        var index = State.BreakGlass.FindIndex(r => r.Id == cleared.Id);
        var record = index >= 0 ? State.BreakGlass[index]
            : new BreakGlassRecord(cleared.Id, Name, AdminNames.Mode(cleared.Mode), cleared.SetBy, cleared.Reason, cleared.At, cleared.ExpiresAt);
        record = record with { ClearedAt = time.GetUtcNow(), ClearedBy = actor.Principal, ClearReason = reason };
        if (index >= 0)
        {
            State.BreakGlass[index] = record;
        }
        else
        {
            State.BreakGlass.Add(record);
        }

        await state.WriteOrReloadAsync(this);
        return record;
    }

    public Task<IReadOnlyList<BreakGlassRecord>> ListBreakGlassAsync() => Task.FromResult<IReadOnlyList<BreakGlassRecord>>([.. State.BreakGlass]);

    public async Task<BreakGlassRecord> ReviewBreakGlassAsync(string id, AdminActor actor, string reason)
    {
        ArgumentNullException.ThrowIfNull(actor);
        ApprovalRules.Require(actor, "reviewing a break-glass", Roles.PolicyApprover);
        var index = State.BreakGlass.FindIndex(r => r.Id == id);
        if (index < 0)
        {
            throw new AdminException(AdminErrorKind.NotFound, "id", $"unknown break-glass '{id}'");
        }

        var record = State.BreakGlass[index];
        if (record.ReviewedBy is not null)
        {
            return record;
        }

        if (record.SetBy == actor.Principal)
        {
            throw new AdminException(AdminErrorKind.Forbidden, "reviewer", "the operator who set a break-glass cannot review it");
        }

        record = record with { ReviewedAt = time.GetUtcNow(), ReviewedBy = actor.Principal, ReviewReason = reason };
        State.BreakGlass[index] = record;
        await CommitAsync(Entry(actor, "break_glass.review", id, reason, "unreviewed", "reviewed", null));
        return record;
    }

    private async Task<PolicyProposal> AddProposalAsync(ProposalRequest request, long? revertTo)
    {
        var now = time.GetUtcNow();
        var id = $"{Name}~{State.LastProposal + 1}";
        var proposal = new PolicyProposal(id, Name, ProposalStates.Pending, request.Actor.Principal, request.Reason, request.EvalRef,
            request.BaseVersion, request.Policy, [], ApprovalRules.Required(catalog.Classes[Name].Regulated), now, now + options.Value.ProposalLifetime)
        {
            RevertTo = revertTo,
        };
        State.LastProposal++;
        State.Proposals.Add(proposal);
        TrimDecided();
        var what = revertTo is { } v ? $"revert to version {v}: " : "";
        await CommitAsync(Entry(request.Actor, "policy.propose", id, request.Reason, AdminNames.DescribePolicy(State.History[^1].Policy),
            $"{what}{AdminNames.DescribePolicy(request.Policy)} (base version {request.BaseVersion}; needs {string.Join(", ", proposal.Requires)})",
            request.EvalRef));
        return proposal;
    }

    private async Task<PolicyProposal> ApplyAsync(int index, PolicyProposal proposal, AdminActor actor)
    {
        var approvers = proposal.Approvals.Select(a => a.Principal).ToList();
        ClassDetails details;
        try
        {
            details = await Class.ApplyApprovedPolicyAsync(new PolicyChange(proposal.Policy, actor, proposal.Reason, proposal.BaseVersion)
            {
                ProposalId = proposal.Id,
                ProposedBy = proposal.ProposedBy,
                ApprovedBy = approvers,
                EvalRef = proposal.EvalRef,
            });
        }
        catch (AdminException error) when (error.Kind == AdminErrorKind.VersionConflict)
        {
            await SupersedeAsync(index, actor, error.Detail);
            throw;
        }

        var now = time.GetUtcNow();
        proposal = proposal with { State = ProposalStates.Applied, AppliedVersion = details.PolicyVersion, ClosedAt = now, ClosedBy = actor.Principal };
        State.Proposals[index] = proposal;
        State.History.Add(new PolicyVersionRecord(details.PolicyVersion, proposal.Policy, now, proposal.Id, proposal.ProposedBy, approvers));
        if (State.History.Count > HistoryKept)
        {
            State.History.RemoveRange(0, State.History.Count - HistoryKept);
        }
        await state.WriteOrReloadAsync(this);
        return proposal;
    }

    // Under federation the class's policy also changes without this grain: adopted from the policy home's feed, or in
    // the policy home applied for a change made in another region. The history follows the class grain, so a proposal's
    // base version is checked against the policy that is really in force.
    private async Task FollowClassVersionAsync()
    {
        var details = await Class.GetDetailsAsync();
        if (details.PolicyVersion <= CurrentVersion || details.ApprovedPolicy is not { } approved)
        {
            return;
        }

        State.History.Add(new PolicyVersionRecord(details.PolicyVersion, approved, time.GetUtcNow(), null, details.PolicyChangedBy ?? "federation", []));
        if (State.History.Count > HistoryKept)
        {
            State.History.RemoveRange(0, State.History.Count - HistoryKept);
        }

        await state.WriteOrReloadAsync(this);
    }

    // Marks the proposal superseded (persisted, audited) and refuses the approval with a conflict.
    private async Task SupersedeAsync(int index, AdminActor actor, string why)
    {
        var proposal = State.Proposals[index] with
        {
            State = ProposalStates.Superseded,
            ClosedAt = time.GetUtcNow(),
            ClosedBy = actor.Principal,
            CloseReason = why,
        };
        State.Proposals[index] = proposal;
        await CommitAsync(Entry(actor, "policy.supersede", proposal.Id, why, ProposalStates.Pending, ProposalStates.Superseded, proposal.EvalRef));
        throw new AdminException(AdminErrorKind.VersionConflict, "baseVersion", $"proposal {proposal.Id} is superseded: {why}; propose it again");
    }

    private async Task ExpireDueAsync()
    {
        var now = time.GetUtcNow();
        var expired = new List<PolicyProposal>();
        for (var i = 0; i < State.Proposals.Count; i++)
        {
            var proposal = State.Proposals[i];
            if (proposal.State == ProposalStates.Pending && proposal.ExpiresAt <= now)
            {
                proposal = proposal with { State = ProposalStates.Expired, ClosedAt = now, ClosedBy = "system:proposal-expiry" };
                State.Proposals[i] = proposal;
                expired.Add(proposal);
            }
        }

        if (expired.Count == 0)
        {
            return;
        }

        await CommitAsync([.. expired.Select(proposal => Entry(AdminActor.System("proposal-expiry"), "policy.expire", proposal.Id,
            $"not approved within {options.Value.ProposalLifetime}", ProposalStates.Pending, ProposalStates.Expired, proposal.EvalRef))]);
    }

    private (int Index, PolicyProposal Proposal) Find(string id)
    {
        var index = State.Proposals.FindIndex(p => p.Id == id);
        return index < 0
            ? throw new AdminException(AdminErrorKind.NotFound, "id", $"unknown proposal '{id}'")
            : (index, State.Proposals[index]);
    }

    private void Validate(WorkloadClassPolicy policy)
    {
        if (!string.Equals(policy.Name, Name, StringComparison.Ordinal))
        {
            throw new AdminException(AdminErrorKind.Invalid, "name", $"must be '{Name}'");
        }

        var errors = PolicyValidator.Validate(policy, catalog.Fleet.Catalog);
        if (errors.Count > 0)
        {
            throw new AdminException(AdminErrorKind.Invalid, errors[0].Field, errors[0].Message);
        }
    }

    private void TrimDecided()
    {
        var decided = State.Proposals.Count(p => p.State != ProposalStates.Pending);
        for (var i = 0; i < State.Proposals.Count && decided > DecidedKept;)
        {
            if (State.Proposals[i].State != ProposalStates.Pending)
            {
                State.Proposals.RemoveAt(i);
                decided--;
            }
            else
            {
                i++;
            }
        }
    }

    private void TrimBreakGlass()
    {
        var reviewed = State.BreakGlass.Count(r => r.ReviewedAt is not null);
        for (var i = 0; i < State.BreakGlass.Count && reviewed > ReviewedBreakGlassKept;)
        {
            if (State.BreakGlass[i].ReviewedAt is not null)
            {
                State.BreakGlass.RemoveAt(i);
                reviewed--;
            }
            else
            {
                i++;
            }
        }
    }

    private static long Number(string id) =>
        long.TryParse(id.AsSpan(id.LastIndexOf("~bg", StringComparison.Ordinal) + 3), out var n) ? n : 0;

    private static AuditEntry Entry(AdminActor actor, string action, string target, string reason, string before, string after, string? evalRef) =>
        new(0, default, actor, action, target, reason, before, after) { EvalRef = evalRef };

    // A step and its audit entries are one write (the outbox in this grain's state), then the entries go to the trail:
    // a step that is persisted always reaches the trail, retried until it does. A full outbox refuses the step unapplied.
    private async Task CommitAsync(params AuditEntry[] entries)
    {
        try
        {
            await AuditOutbox.EnsureRoomAsync();
        }
        catch
        {
            await state.ReadStateAsync();
            throw;
        }

        foreach (var entry in entries)
        {
            AuditOutbox.Stage(entry);
        }

        await state.WriteOrReloadAsync(this);
        await AuditOutbox.DeliverAsync();
    }
}
