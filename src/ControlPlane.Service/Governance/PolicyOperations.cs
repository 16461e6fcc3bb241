using ControlPlane.Domain.Policy;
using ControlPlane.Service.Admin;
using ControlPlane.Service.Grains;
using ControlPlane.Service.Security;

namespace ControlPlane.Service.Governance;

/// <summary>The admin operations of the two-person policy path, behind the HTTP and gRPC admin APIs: proposals are
/// validated here against the catalog (so every error names its field) and again by the class's
/// <see cref="IPolicyProposalsGrain"/>, which persists and audits every step.</summary>
internal sealed class PolicyOperations(FleetCatalog catalog, IGrainFactory grains, TimeProvider time)
{
    /// <summary>Longest eval reference accepted.</summary>
    internal const int MaxEvalRefLength = 256;

    /// <summary>Longest proposal or break-glass id accepted.</summary>
    internal const int MaxIdLength = 256;

    public async Task<ProposalView> ProposeAsync(string name, ProposeCommand command, AdminActor actor)
    {
        ArgumentNullException.ThrowIfNull(command);
        ArgumentNullException.ThrowIfNull(actor);
        RequireClass(name);
        var change = command.Change;
        var reason = AdminOperations.RequireReason(change.Reason);
        var evalRef = EvalRef(command.EvalRef);
        var read = await grains.GetGrain<IWorkloadClassGrain>(name).GetDetailsAsync();
        var current = read.ApprovedPolicy ?? read.Policy;
        if (change.ExpectedVersion is { } expected && expected != read.PolicyVersion)
        {
            throw new AdminException(AdminErrorKind.VersionConflict, "expectedVersion",
                $"class '{name}' policy is at version {read.PolicyVersion}, not {expected}; read it again and retry");
        }

        var mode = current.Mode;
        if (change.Mode is { } modeName && !AdminNames.TryParseMode(modeName, out mode))
        {
            throw new AdminException(AdminErrorKind.Invalid, "mode", $"unknown mode '{modeName}'; expected one of auto_fallback, queue_only, fail");
        }

        var policy = current with
        {
            Mode = mode,
            Primary = change.Primary is { } primary ? RequireEndpoints(primary, "primary") : current.Primary,
            Fallbacks = change.Fallbacks is { } fallbacks ? Approvals(fallbacks, current) : current.Fallbacks,
            Prohibited = change.Prohibited is { } prohibited ? RequireEndpoints(prohibited, "prohibited") : current.Prohibited,
        };
        var errors = PolicyValidator.Validate(policy, catalog.Fleet.Catalog);
        if (errors.Count > 0)
        {
            throw new AdminException(AdminErrorKind.Invalid, errors[0].Field, errors[0].Message);
        }

        var proposal = await Governance(name).ProposeAsync(new ProposalRequest(policy, actor, reason, evalRef, read.PolicyVersion));
        return ProposalView.From(proposal);
    }

    public async Task<ProposalView> RevertAsync(string name, string? reason, string? evalRef, AdminActor actor)
    {
        ArgumentNullException.ThrowIfNull(actor);
        RequireClass(name);
        var why = AdminOperations.RequireReason(reason);
        return ProposalView.From(await Governance(name).RevertAsync(actor, why, EvalRef(evalRef)));
    }

    public async Task<ProposalView> ApproveAsync(string id, string? reason, AdminActor actor)
    {
        ArgumentNullException.ThrowIfNull(actor);
        var name = ClassOf(id);
        var why = reason is null ? null : AdminOperations.RequireReason(reason);
        return ProposalView.From(await Governance(name).ApproveAsync(id, actor, why));
    }

    public async Task<ProposalView> RejectAsync(string id, string? reason, AdminActor actor)
    {
        ArgumentNullException.ThrowIfNull(actor);
        var name = ClassOf(id);
        var why = AdminOperations.RequireReason(reason);
        return ProposalView.From(await Governance(name).RejectAsync(id, actor, why));
    }

    public async Task<ProposalView> GetProposalAsync(string id)
    {
        var proposal = await Governance(ClassOf(id)).GetAsync(id);
        return proposal is null
            ? throw new AdminException(AdminErrorKind.NotFound, "id", $"unknown proposal '{id}'")
            : ProposalView.From(proposal);
    }

    /// <summary>Proposals of one class or of every class (fanned out over the catalog), oldest first per class.</summary>
    public async Task<IReadOnlyList<ProposalView>> ListProposalsAsync(string? state, string? className)
    {
        if (state is not null && !ProposalStates.All.Contains(state, StringComparer.Ordinal))
        {
            throw new AdminException(AdminErrorKind.Invalid, "state", $"unknown state '{Clip(state)}'; expected one of {string.Join(", ", ProposalStates.All)}");
        }

        if (className is not null && !catalog.Classes.ContainsKey(className))
        {
            throw new AdminException(AdminErrorKind.Invalid, "class", $"unknown workload class '{Clip(className)}'");
        }

        var classes = className is null ? catalog.Fleet.Classes.Select(c => c.Name).ToList() : [className];
        var lists = await Task.WhenAll(classes.Select(c => Governance(c).ListAsync()));
        return [.. lists.SelectMany(l => l).Where(p => state is null || p.State == state).Select(ProposalView.From)];
    }

    public async Task<IReadOnlyList<PolicyVersionView>> GetHistoryAsync(string name)
    {
        RequireClass(name);
        return [.. (await Governance(name).GetHistoryAsync()).Select(PolicyVersionView.From)];
    }

    public async Task<BreakGlassView> BreakGlassAsync(string name, BreakGlassRequest request, AdminActor actor)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(actor);
        RequireClass(name);
        var mode = request.Mode switch
        {
            "queue_only" => RoutingMode.QueueOnly,
            "fail" => RoutingMode.Fail,
            null or "" => throw new AdminException(AdminErrorKind.Invalid, "mode", "is required: queue_only or fail"),
            _ => throw new AdminException(AdminErrorKind.Invalid, "mode", $"unknown mode '{Clip(request.Mode)}'; break-glass forces queue_only or fail"),
        };
        var reason = AdminOperations.RequireReason(request.Reason);
        var ttl = AdminOperations.Ttl(request.TtlSeconds);
        var record = await Governance(name).BreakGlassAsync(new BreakGlassCommand(mode, reason, ttl), actor);
        return BreakGlassView.From(record, time.GetUtcNow());
    }

    public async Task<BreakGlassView> ClearBreakGlassAsync(string name, string? reason, AdminActor actor)
    {
        ArgumentNullException.ThrowIfNull(actor);
        RequireClass(name);
        var why = AdminOperations.RequireReason(reason);
        return BreakGlassView.From(await Governance(name).ClearBreakGlassAsync(actor, why), time.GetUtcNow());
    }

    /// <summary>Break-glass records of every class; <paramref name="reviewed"/> filters by review state.</summary>
    public async Task<IReadOnlyList<BreakGlassView>> ListBreakGlassAsync(bool? reviewed)
    {
        var lists = await Task.WhenAll(catalog.Fleet.Classes.Select(c => Governance(c.Name).ListBreakGlassAsync()));
        var now = time.GetUtcNow();
        return [.. lists.SelectMany(l => l).Where(r => reviewed is null || (r.ReviewedAt is not null) == reviewed).Select(r => BreakGlassView.From(r, now))];
    }

    public async Task<BreakGlassView> ReviewBreakGlassAsync(string id, string? reason, AdminActor actor)
    {
        ArgumentNullException.ThrowIfNull(actor);
        var name = ClassOf(id, "~bg");
        var why = AdminOperations.RequireReason(reason);
        return BreakGlassView.From(await Governance(name).ReviewBreakGlassAsync(id, actor, why), time.GetUtcNow());
    }

    private IPolicyProposalsGrain Governance(string name) => grains.GetGrain<IPolicyProposalsGrain>(name);

    private void RequireClass(string name)
    {
        if (!catalog.Classes.ContainsKey(name))
        {
            throw new AdminException(AdminErrorKind.NotFound, "name", $"unknown workload class '{Clip(name)}'");
        }
    }

    // Ids are "{class}~{n}" (proposals) and "{class}~bg{n}" (break-glass); '~' is not allowed in class names.
    private string ClassOf(string id, string marker = "~")
    {
        var at = id.Length <= MaxIdLength ? id.LastIndexOf(marker, StringComparison.Ordinal) : -1;
        var name = at > 0 ? id[..at] : "";
        var number = at > 0 ? id[(at + marker.Length)..] : "";
        if (!catalog.Classes.ContainsKey(name) || number.Length is 0 or > 18 || !number.All(char.IsAsciiDigit))
        {
            throw new AdminException(AdminErrorKind.NotFound, "id", $"unknown {(marker == "~" ? "proposal" : "break-glass")} '{Clip(id)}'");
        }

        return name;
    }

    private static string? EvalRef(string? evalRef)
    {
        if (evalRef is null)
        {
            return null;
        }

        if (string.IsNullOrWhiteSpace(evalRef) || evalRef.Length > MaxEvalRefLength)
        {
            throw new AdminException(AdminErrorKind.Invalid, "evalRef", $"must be 1 to {MaxEvalRefLength} characters when given");
        }

        AdminOperations.RequirePrintable(evalRef, "evalRef");
        return evalRef.Trim();
    }

    private static string Clip(string text) => text.Length <= 64 ? text : text[..64] + "...";

    private IReadOnlyList<string> RequireEndpoints(IReadOnlyList<string> ids, string field)
    {
        if (ids.Count > WorkloadClassPolicy.MaxApprovedEndpoints + catalog.Endpoints.Count)
        {
            throw new AdminException(AdminErrorKind.Invalid, field, $"lists {ids.Count} endpoints; the fleet has {catalog.Endpoints.Count}");
        }

        for (var i = 0; i < ids.Count; i++)
        {
            if (!catalog.Endpoints.ContainsKey(ids[i]))
            {
                throw new AdminException(AdminErrorKind.Invalid, $"{field}[{i}]", $"unknown endpoint '{Clip(ids[i])}'");
            }
        }

        if (ids.Distinct(StringComparer.Ordinal).Count() != ids.Count)
        {
            throw new AdminException(AdminErrorKind.Invalid, field, "lists an endpoint twice");
        }

        return [.. ids];
    }

    private List<FallbackApproval> Approvals(IReadOnlyList<FallbackView> fallbacks, WorkloadClassPolicy current)
    {
        RequireEndpoints([.. fallbacks.Select(f => f.EndpointId)], "fallbacks");
        var approvals = new List<FallbackApproval>(fallbacks.Count);
        for (var i = 0; i < fallbacks.Count; i++)
        {
            var id = fallbacks[i].EndpointId;
            var score = fallbacks[i].EvalScore ?? current.Fallbacks.FirstOrDefault(f => f.EndpointId == id)?.EvalScore;
            if (score is null && current.QualityGate is { } gate)
            {
                // Without a score the fallback could never pass the gate: refuse rather than approve it silently unused.
                throw new AdminException(AdminErrorKind.Invalid, $"fallbacks[{i}].evalScore", $"is required: the class has a quality gate of {gate}");
            }

            approvals.Add(new FallbackApproval { EndpointId = id, EvalScore = score });
        }

        return approvals;
    }
}
