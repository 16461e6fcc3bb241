using ControlPlane.Contracts.V1;
using ControlPlane.Domain.Policy;
using ControlPlane.Service.Admin;
using ControlPlane.Service.Security;
using Grpc.Core;

namespace ControlPlane.Service.Federation;

/// <summary>Class policy under federation: changes made in other regions, applied by the policy home.</summary>
internal sealed partial class FederationService
{
    /// <summary>Most approvers accepted on a forwarded policy change.</summary>
    internal const int MaxApprovers = 16;

    [RequireRoles(Roles.Federation)]
    public override async Task<ApplyClassChangeReply> ApplyClassChange(ApplyClassChangeRequest request, ServerCallContext context)
    {
        RequireEnabled();
        RequireForwarded(request.OriginRegion, request.RequestId, request.Sequence);

        if (request.ClassName.Length > MaxIdLength || !catalog.Classes.ContainsKey(request.ClassName))
        {
            throw NotFound("class_name", $"unknown class '{Shorten(request.ClassName)}'");
        }

        if (Options.PolicyHome != Options.Region)
        {
            throw Invalid("class_name", $"class policy is applied by the policy home '{Options.PolicyHome}', not here");
        }

        RequireActorAndReason(request.Actor, request.Reason);

        var caller = context.GetHttpContext().User.Identity?.Name ?? "federation";
        var actor = new AdminActor(request.Actor, [], caller, $"region:{request.OriginRegion}", request.RequestId);
        var change = request.Kind switch
        {
            FederatedClassChangeKind.Policy => PolicyChange(request, actor),
            FederatedClassChangeKind.BreakGlass => BreakGlassChange(request, actor),
            FederatedClassChangeKind.ClearBreakGlass => new ForwardedClassChange(request.OriginRegion, request.Sequence, ClassChangeKind.ClearBreakGlass, actor, request.Reason),
            _ => throw Invalid("kind", "must be POLICY, BREAK_GLASS or CLEAR_BREAK_GLASS"),
        };
        try
        {
            var state = await grains.GetGrain<IClassFederationGrain>(request.ClassName).ApplyForwardedClassChangeAsync(change);
            return new ApplyClassChangeReply { State = FederatedClasses.ToWire(request.ClassName, state) };
        }
        catch (AdminException e)
        {
            throw new RpcException(new Status(e.Kind is AdminErrorKind.Conflict or AdminErrorKind.VersionConflict ? StatusCode.FailedPrecondition : StatusCode.InvalidArgument,
                $"{e.Field}: {e.Detail}"));
        }
    }

    private ForwardedClassChange PolicyChange(ApplyClassChangeRequest request, AdminActor actor)
    {
        var policy = FederatedClasses.PolicyFromWire(request.Policy, catalog, request.ClassName, "policy", out string error) ?? throw new RpcException(
            new Status(StatusCode.InvalidArgument, error));
        if (request.ExpectedVersion <= 0)
        {
            throw Invalid("expected_version", "must be positive");
        }

        if (string.IsNullOrEmpty(request.ProposalId) || request.ProposalId.Length > MaxIdLength)
        {
            throw Invalid("proposal_id", $"is required, at most {MaxIdLength} characters");
        }

        if (request.ProposedBy.Length > MaxIdLength)
        {
            throw Invalid("proposed_by", $"at most {MaxIdLength} characters");
        }

        if (request.ApprovedBy.Count > MaxApprovers || request.ApprovedBy.Any(a => a.Length > MaxIdLength))
        {
            throw Invalid("approved_by", $"at most {MaxApprovers} principals of at most {MaxIdLength} characters");
        }

        if (request.EvalRef.Length > MaxIdLength)
        {
            throw Invalid("eval_ref", $"at most {MaxIdLength} characters");
        }

        return new ForwardedClassChange(request.OriginRegion, request.Sequence, ClassChangeKind.Policy, actor, request.Reason)
        {
            Policy = policy with { Name = request.ClassName },
            ExpectedVersion = request.ExpectedVersion,
            ProposalId = request.ProposalId,
            ProposedBy = request.ProposedBy,
            ApprovedBy = [.. request.ApprovedBy],
            EvalRef = request.EvalRef.Length > 0 ? request.EvalRef : null,
        };
    }

    private static ForwardedClassChange BreakGlassChange(ApplyClassChangeRequest request, AdminActor actor)
    {
        if (string.IsNullOrEmpty(request.BreakGlassId) || request.BreakGlassId.Length > MaxIdLength)
        {
            throw Invalid("break_glass_id", $"is required, at most {MaxIdLength} characters");
        }

        if (!AdminNames.TryParseMode(request.Mode, out var mode) || mode is not (RoutingMode.QueueOnly or RoutingMode.Fail))
        {
            throw Invalid("mode", "must be queue_only or fail");
        }

        if (request.TtlSeconds is < 0 or > MaxTtlSeconds)
        {
            throw Invalid("ttl_seconds", $"must be between 0 and {MaxTtlSeconds}");
        }

        return new ForwardedClassChange(request.OriginRegion, request.Sequence, ClassChangeKind.BreakGlass, actor, request.Reason)
        {
            BreakGlassId = request.BreakGlassId,
            Mode = mode,
            Ttl = request.TtlSeconds > 0 ? TimeSpan.FromSeconds(request.TtlSeconds) : null,
        };
    }
}
