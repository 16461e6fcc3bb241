using ControlPlane.Domain.Policy;

namespace ControlPlane.Service.Governance;

/// <summary>The policy a class routes by: the approved one, or under an active break-glass the approved one with the
/// forced mode (and no fallbacks: <c>queue_only</c> and <c>fail</c> never fall back).</summary>
internal static class ClassBreakGlass
{
    public static WorkloadClassPolicy Effective(WorkloadClassPolicy approved, ActiveBreakGlass? glass, DateTimeOffset now) =>
        glass is { } active && active.IsActive(now) ? approved with { Mode = active.Mode, Fallbacks = [] } : approved;
}
