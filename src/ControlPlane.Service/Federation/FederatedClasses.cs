using ControlPlane.Contracts.V1;
using ControlPlane.Domain.Policy;
using ControlPlane.Service.Admin;
using ControlPlane.Service.Governance;

namespace ControlPlane.Service.Federation;

/// <summary>Conversions between <see cref="FollowedClass"/> / class policies and the feed's wire messages. Everything
/// read from the wire is bounded and validated against the fleet catalog (a malformed message changes nothing).</summary>
internal static class FederatedClasses
{
    private const long MaxUnixMs = 253402300799999;

    public static FederatedClassPolicy PolicyToWire(WorkloadClassPolicy policy)
    {
        var wire = new FederatedClassPolicy { Mode = AdminNames.Mode(policy.Mode) };
        wire.Primary.AddRange(policy.Primary);
        foreach (var f in policy.Fallbacks)
        {
            var entry = new FederatedFallback { EndpointId = f.EndpointId };
            if (f.EvalScore is { } score)
            {
                entry.EvalScore = score;
            }

            wire.Fallbacks.Add(entry);
        }

        wire.Prohibited.AddRange(policy.Prohibited);
        return wire;
    }

    /// <summary>The fleet's policy of the class with the wire's admin-changeable fields; null with the field and reason
    /// in <paramref name="error"/> when malformed or invalid against the catalog.</summary>
    public static WorkloadClassPolicy? PolicyFromWire(FederatedClassPolicy? wire, FleetCatalog catalog, string className, string field, out string error)
    {
        error = "";
        if (wire is null)
        {
            error = $"{field}: is required";
            return null;
        }

        if (!catalog.Classes.TryGetValue(className, out var definition))
        {
            error = $"{field}: unknown class";
            return null;
        }

        int bound = catalog.Endpoints.Count;
        if (wire.Primary.Count > bound || wire.Fallbacks.Count > bound || wire.Prohibited.Count > bound)
        {
            error = $"{field}: at most {bound} endpoints in each list";
            return null;
        }

        if (!AdminNames.TryParseMode(wire.Mode, out var mode))
        {
            error = $"{field}.mode: must be auto_fallback, queue_only or fail";
            return null;
        }

        foreach (var f in wire.Fallbacks)
        {
            if (f.HasEvalScore && !(f.EvalScore is >= 0 and <= 1))
            {
                error = $"{field}.fallbacks: eval_score must be in [0, 1]";
                return null;
            }
        }

        var policy = definition.Policy with
        {
            Mode = mode,
            Primary = [.. wire.Primary],
            Fallbacks = [.. wire.Fallbacks.Select(f => new FallbackApproval { EndpointId = f.EndpointId, EvalScore = f.HasEvalScore ? f.EvalScore : null })],
            Prohibited = [.. wire.Prohibited],
        };
        var errors = PolicyValidator.Validate(policy, catalog.Fleet.Catalog);
        if (errors.Count > 0)
        {
            error = $"{field}.{errors[0].Field}: {errors[0].Message}";
            return null;
        }

        return policy;
    }

    public static FederatedClassState ToWire(string className, FollowedClass state)
    {
        var wire = new FederatedClassState
        {
            ClassName = className,
            Version = state.HomeVersion,
            PolicyVersion = state.PolicyVersion,
            Policy = PolicyToWire(state.Policy),
            ChangedBy = state.ChangedBy ?? "",
        };
        if (state.BreakGlass is { } glass)
        {
            wire.BreakGlass = new FederatedBreakGlass
            {
                Id = glass.Id,
                Mode = AdminNames.Mode(glass.Mode),
                SetBy = glass.SetBy,
                Reason = glass.Reason,
                AtUnixMs = glass.At.ToUnixTimeMilliseconds(),
                ExpiresUnixMs = glass.ExpiresAt?.ToUnixTimeMilliseconds() ?? 0,
            };
        }

        return wire;
    }

    /// <summary>The state a follower adopts; null with a reason when the message is malformed.</summary>
    public static FollowedClass? FromWire(FederatedClassState wire, FleetCatalog catalog, out string error)
    {
        string name = wire.ClassName.Length > 64 ? wire.ClassName[..64] : wire.ClassName;
        if (wire.Version <= 0 || wire.PolicyVersion <= 0 || wire.ChangedBy.Length > 256)
        {
            error = $"class '{name}': malformed state (version {wire.Version})";
            return null;
        }

        if (PolicyFromWire(wire.Policy, catalog, wire.ClassName, "policy", out error) is not { } policy)
        {
            error = $"class '{name}': {error}";
            return null;
        }

        ActiveBreakGlass? glass = null;
        if (wire.BreakGlass is { } g)
        {
            if (!AdminNames.TryParseMode(g.Mode, out var mode) || mode is not (RoutingMode.QueueOnly or RoutingMode.Fail)
                || g.Id.Length is 0 or > 256 || g.SetBy.Length > 256 || g.Reason.Length > 1024)
            {
                error = $"class '{name}': malformed break-glass";
                return null;
            }

            glass = new ActiveBreakGlass(g.Id, mode, g.SetBy, g.Reason, DateTimeOffset.FromUnixTimeMilliseconds(Math.Clamp(g.AtUnixMs, 0, MaxUnixMs)),
                g.ExpiresUnixMs > 0 ? DateTimeOffset.FromUnixTimeMilliseconds(Math.Clamp(g.ExpiresUnixMs, 0, MaxUnixMs)) : null);
        }

        return new FollowedClass(wire.Version, wire.PolicyVersion, policy, wire.ChangedBy.Length > 0 ? wire.ChangedBy : null, glass);
    }

    public static ApplyClassChangeRequest ToWire(string className, ForwardedClassChange f)
    {
        var wire = new ApplyClassChangeRequest
        {
            OriginRegion = f.OriginRegion,
            RequestId = f.RequestId,
            ClassName = className,
            Sequence = f.Sequence,
            Kind = (FederatedClassChangeKind)(int)f.Kind,
            Actor = f.Actor.Principal,
            Reason = f.Reason,
            ExpectedVersion = f.ExpectedVersion,
            ProposalId = f.ProposalId,
            ProposedBy = f.ProposedBy,
            EvalRef = f.EvalRef ?? "",
            BreakGlassId = f.BreakGlassId,
            Mode = f.Kind == ClassChangeKind.BreakGlass ? AdminNames.Mode(f.Mode) : "",
            TtlSeconds = f.Ttl is { } ttl ? (long)Math.Ceiling(ttl.TotalSeconds) : 0,
        };
        if (f.Policy is { } policy)
        {
            wire.Policy = PolicyToWire(policy);
        }

        wire.ApprovedBy.AddRange(f.ApprovedBy);
        return wire;
    }
}
