using ControlPlane.Domain.Endpoints;
using ControlPlane.Domain.Policy;

namespace ControlPlane.Service.Admin;

/// <summary>The snake_case names the APIs use for domain enums (stable wire vocabulary, not C# names).</summary>
internal static class AdminNames
{
    public static string Breaker(BreakerState state) => state switch
    {
        BreakerState.Closed => "closed",
        BreakerState.Open => "open",
        BreakerState.HalfOpen => "half_open",
        _ => "unknown",
    };

    public static string Reason(BreakerReason reason) => reason switch
    {
        BreakerReason.None => "none",
        BreakerReason.ConsecutiveFailures => "consecutive_failures",
        BreakerReason.ErrorRate => "error_rate",
        BreakerReason.Latency => "latency",
        BreakerReason.Quality => "quality",
        BreakerReason.ProbeFailed => "probe_failed",
        BreakerReason.Forced => "forced",
        _ => "unknown",
    };

    public static string Override(OverrideKind kind) => kind switch
    {
        OverrideKind.ForceOpen => "force_open",
        OverrideKind.ForceClosed => "force_closed",
        OverrideKind.Drain => "drain",
        _ => "unknown",
    };

    public static string Mode(RoutingMode mode) => mode switch
    {
        RoutingMode.AutoFallback => "auto_fallback",
        RoutingMode.QueueOnly => "queue_only",
        RoutingMode.Fail => "fail",
        _ => "unknown",
    };

    public static bool TryParseMode(string name, out RoutingMode mode)
    {
        (var known, mode) = name switch
        {
            "auto_fallback" => (true, RoutingMode.AutoFallback),
            "queue_only" => (true, RoutingMode.QueueOnly),
            "fail" => (true, RoutingMode.Fail),
            _ => (false, default),
        };
        return known;
    }

    /// <summary>A one-line description of a policy for the audit trail.</summary>
    public static string DescribePolicy(WorkloadClassPolicy policy) =>
        $"mode {Mode(policy.Mode)}, primary [{string.Join(", ", policy.Primary)}], " +
        $"fallbacks [{string.Join(", ", policy.Fallbacks.Select(f => f.EndpointId))}], prohibited [{string.Join(", ", policy.Prohibited)}]";
}
