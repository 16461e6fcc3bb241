using ControlPlane.Domain.Policy;
using ControlPlane.Service.Admin;

namespace ControlPlane.Service.Governance;

/// <summary>The routing part of a policy as the admin API shows it.</summary>
internal sealed record PolicyView(string Mode, IReadOnlyList<string> Primary, IReadOnlyList<FallbackView> Fallbacks, IReadOnlyList<string> Prohibited)
{
    public static PolicyView From(WorkloadClassPolicy p) =>
        new(AdminNames.Mode(p.Mode), p.Primary, [.. p.Fallbacks.Select(f => new FallbackView(f.EndpointId, f.EvalScore))], p.Prohibited);
}

/// <summary>An approval as the admin API shows it.</summary>
internal sealed record ApprovalView(string Principal, string Role, DateTimeOffset At, string? Reason);

/// <summary>A proposal as the admin API shows it.</summary>
internal sealed record ProposalView(string Id, string Class, string State, string ProposedBy, string Reason, string? EvalRef,
    long BaseVersion, PolicyView Policy, IReadOnlyList<ApprovalView> Approvals, IReadOnlyList<string> Requires,
    DateTimeOffset CreatedAt, DateTimeOffset ExpiresAt, long? AppliedVersion, long? RevertTo, DateTimeOffset? ClosedAt,
    string? ClosedBy, string? CloseReason)
{
    public static ProposalView From(PolicyProposal p) => new(p.Id, p.Class, p.State, p.ProposedBy, p.Reason, p.EvalRef, p.BaseVersion,
        PolicyView.From(p.Policy), [.. p.Approvals.Select(a => new ApprovalView(a.Principal, a.Role, a.At, a.Reason))], p.Requires,
        p.CreatedAt, p.ExpiresAt, p.AppliedVersion, p.RevertTo, p.ClosedAt, p.ClosedBy, p.CloseReason);
}

/// <summary>One applied policy version.</summary>
internal sealed record PolicyVersionView(long Version, PolicyView Policy, DateTimeOffset AppliedAt, string? ProposalId, string ProposedBy,
    IReadOnlyList<string> ApprovedBy)
{
    public static PolicyVersionView From(PolicyVersionRecord r) =>
        new(r.Version, PolicyView.From(r.Policy), r.AppliedAt, r.ProposalId, r.ProposedBy, r.ApprovedBy);
}

/// <summary>A break-glass record as the admin API shows it.</summary>
internal sealed record BreakGlassView(string Id, string Class, string Mode, string SetBy, string Reason, DateTimeOffset At,
    DateTimeOffset? ExpiresAt, bool Active, DateTimeOffset? ClearedAt, string? ClearedBy, string? ClearReason, bool Reviewed,
    DateTimeOffset? ReviewedAt, string? ReviewedBy, string? ReviewReason)
{
    public static BreakGlassView From(BreakGlassRecord r, DateTimeOffset now) => new(r.Id, r.Class, r.Mode, r.SetBy, r.Reason, r.At,
        r.ExpiresAt, r.IsActive(now), r.ClearedAt, r.ClearedBy, r.ClearReason, r.ReviewedAt is not null, r.ReviewedAt, r.ReviewedBy, r.ReviewReason);
}

/// <summary>A class's active break-glass in the class view.</summary>
internal sealed record ActiveBreakGlassView(string Id, string Mode, string SetBy, string Reason, DateTimeOffset At, DateTimeOffset? ExpiresAt)
{
    public static ActiveBreakGlassView? From(ActiveBreakGlass? b) =>
        b is null ? null : new(b.Id, AdminNames.Mode(b.Mode), b.SetBy, b.Reason, b.At, b.ExpiresAt);
}

/// <summary>A policy proposal: <c>{"mode","primary","fallbacks","prohibited","reason","evalRef","expectedVersion"}</c>; a
/// null member keeps the approved policy's value.</summary>
/// <param name="Change">The policy fields (as the old direct change took them).</param>
/// <param name="EvalRef">The supporting eval, if any.</param>
internal sealed record ProposeCommand(PolicyCommand Change, string? EvalRef);

/// <summary>A break-glass request: <c>{"mode":"queue_only"|"fail","reason","ttlSeconds"}</c>.</summary>
internal sealed record BreakGlassRequest(string? Mode, string Reason, long? TtlSeconds);
