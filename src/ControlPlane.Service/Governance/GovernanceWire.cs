using ControlPlane.Service.Admin;
using Wire = ControlPlane.Contracts.V1;

namespace ControlPlane.Service.Governance;

/// <summary>Maps the governance views to and from the gRPC Admin messages.</summary>
internal static class GovernanceWire
{
    public static ProposeCommand FromWire(Wire.PolicyProposeRequest request) => new(
        new PolicyCommand(request.HasMode ? request.Mode : null, request.Primary?.Ids,
            request.Fallbacks?.Entries.Select(f => new FallbackView(f.EndpointId, f.HasEvalScore ? f.EvalScore : null)).ToList(),
            request.Prohibited?.Ids, request.Reason, request.HasExpectedVersion ? request.ExpectedVersion : null),
        request.HasEvalRef ? request.EvalRef : null);

    public static Wire.ProposalView ToWire(ProposalView v)
    {
        var wire = new Wire.ProposalView
        {
            Id = v.Id,
            ClassName = v.Class,
            State = v.State,
            ProposedBy = v.ProposedBy,
            Reason = v.Reason,
            EvalRef = v.EvalRef ?? "",
            BaseVersion = v.BaseVersion,
            Mode = v.Policy.Mode,
            CreatedAtUnixMs = v.CreatedAt.ToUnixTimeMilliseconds(),
            ExpiresAtUnixMs = v.ExpiresAt.ToUnixTimeMilliseconds(),
        };
        wire.Primary.AddRange(v.Policy.Primary);
        foreach (var f in v.Policy.Fallbacks)
        {
            var entry = new Wire.FallbackEntry { EndpointId = f.EndpointId };
            if (f.EvalScore is { } score)
            {
                entry.EvalScore = score;
            }

            wire.Fallbacks.Add(entry);
        }

        wire.Prohibited.AddRange(v.Policy.Prohibited);
        wire.Approvals.AddRange(v.Approvals.Select(a => new Wire.ProposalApproval { Principal = a.Principal, Role = a.Role, AtUnixMs = a.At.ToUnixTimeMilliseconds() }));
        wire.Requires.AddRange(v.Requires);
        if (v.AppliedVersion is { } applied)
        {
            wire.AppliedVersion = applied;
        }

        return wire;
    }

    public static Wire.ProposalList ToWire(IReadOnlyList<ProposalView> list)
    {
        var wire = new Wire.ProposalList();
        wire.Proposals.AddRange(list.Select(ToWire));
        return wire;
    }

    public static Wire.BreakGlassView ToWire(BreakGlassView v) => new()
    {
        Id = v.Id,
        ClassName = v.Class,
        Mode = v.Mode,
        SetBy = v.SetBy,
        Reason = v.Reason,
        AtUnixMs = v.At.ToUnixTimeMilliseconds(),
        ExpiresAtUnixMs = v.ExpiresAt?.ToUnixTimeMilliseconds() ?? 0,
        Active = v.Active,
        Reviewed = v.Reviewed,
    };
}
