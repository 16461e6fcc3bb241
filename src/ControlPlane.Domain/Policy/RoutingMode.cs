namespace ControlPlane.Domain.Policy;

/// <summary>What a workload class does when its primary endpoints cannot take a request.</summary>
public enum RoutingMode : byte
{
    /// <summary>Fall back automatically to the approved fallbacks, in order.</summary>
    AutoFallback = 0,
    /// <summary>Never fall back: hold the request until a primary is available (e.g. legal drafting,
    /// where output from another model is not acceptable).</summary>
    QueueOnly = 1,
    /// <summary>Never fall back: fail the request at once.</summary>
    Fail = 2,
}

/// <summary>What a class does when fewer endpoints than its panic threshold are available.</summary>
public enum PanicMode : byte
{
    /// <summary>Spread traffic over every approved endpoint that is not open, drained or forced open,
    /// ignoring softer signals (degraded, ramping, 429 cooldown, half-open probe bound), so the few healthy
    /// ones are not crushed.</summary>
    SpreadOverApproved = 0,
    /// <summary>Fail requests while too few endpoints are available.</summary>
    Fail = 1,
}

/// <summary>Wire and config names of <see cref="RoutingMode"/> and <see cref="PanicMode"/>.</summary>
public static class RoutingModeNames
{
    /// <summary>The snake_case name: <c>auto_fallback</c>, <c>queue_only</c> or <c>fail</c>.</summary>
    public static string ToWireName(this RoutingMode mode) => mode switch
    {
        RoutingMode.AutoFallback => "auto_fallback",
        RoutingMode.QueueOnly => "queue_only",
        RoutingMode.Fail => "fail",
        _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, "unknown routing mode"),
    };

    /// <summary>Parses a snake_case routing mode name.</summary>
    public static bool TryParse(string? name, out RoutingMode mode)
    {
        switch (name)
        {
            case "auto_fallback":
                mode = RoutingMode.AutoFallback;
                return true;
            case "queue_only":
                mode = RoutingMode.QueueOnly;
                return true;
            case "fail":
                mode = RoutingMode.Fail;
                return true;
            default:
                mode = default;
                return false;
        }
    }

    /// <summary>The snake_case name: <c>spread_over_approved</c> or <c>fail</c>.</summary>
    public static string ToWireName(this PanicMode mode) => mode switch
    {
        PanicMode.SpreadOverApproved => "spread_over_approved",
        PanicMode.Fail => "fail",
        _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, "unknown panic mode"),
    };
}
