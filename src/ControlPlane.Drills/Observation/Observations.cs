namespace ControlPlane.Drills.Observation;

/// <summary>An endpoint's breaker as the admin API showed it at one poll.</summary>
/// <param name="At">Drill clock seconds.</param>
/// <param name="Endpoint">Endpoint id.</param>
/// <param name="State">closed, open or half_open.</param>
/// <param name="Degraded">Marked degraded (latency).</param>
/// <param name="RateLimited">Cooling after 429s (rateLimitedUntil in the future).</param>
/// <param name="TrafficFraction">Ramp fraction.</param>
/// <param name="Trips">Trips so far.</param>
public sealed record BreakerSample(double At, string Endpoint, string State, bool Degraded, bool RateLimited, double TrafficFraction, int Trips)
{
    /// <summary>Whether the control plane has acted on the endpoint (open, half-open, degraded or cooling).</summary>
    public bool Detected => State != "closed" || Degraded || RateLimited;
}

/// <summary>An alert seen firing.</summary>
/// <param name="At">Drill clock seconds of the alert's change to firing (or of the poll that first saw it).</param>
/// <param name="Rule">Rule name.</param>
/// <param name="TargetKind">endpoint or class.</param>
/// <param name="TargetId">Endpoint id or class name.</param>
/// <param name="Classes">Classes it concerns.</param>
public sealed record AlertSample(double At, string Rule, string TargetKind, string TargetId, IReadOnlyList<string> Classes);

/// <summary>Cumulative simulator counters of one endpoint at one poll.</summary>
/// <param name="At">Drill clock seconds.</param>
/// <param name="Endpoint">Endpoint id.</param>
/// <param name="Requests">Requests (attempts) that reached it so far.</param>
/// <param name="Errors">Of those, answered with anything but 200 (or refused, reset).</param>
public sealed record SimulatorCount(double At, string Endpoint, long Requests, long Errors);

/// <summary>A class's budget levels read at the end of the drill.</summary>
/// <param name="Class">The class.</param>
/// <param name="TokensPerMinute">Budget limit (0: none).</param>
/// <param name="RequestsPerMinute">Budget limit (0: none).</param>
/// <param name="UsdPerDay">Spend ceiling (null: none).</param>
/// <param name="DaySpentUsd">Spent today per the control plane.</param>
/// <param name="ServedByFallback">Requests the class grain counted as served by a fallback.</param>
public sealed record ClassBudgetSample(string Class, long TokensPerMinute, long RequestsPerMinute, decimal? UsdPerDay, decimal? DaySpentUsd, long ServedByFallback);

/// <summary>An endpoint's health as the control plane held it at the end of the drill.</summary>
/// <param name="Endpoint">Endpoint id.</param>
/// <param name="State">Breaker state.</param>
/// <param name="Trips">Breaker trips.</param>
/// <param name="Requests">Outcomes in its health window.</param>
/// <param name="Failures">Failed outcomes in its window.</param>
/// <param name="LatencyP95Ms">p95 latency of its window.</param>
/// <param name="PerOutputTokenMs">Time per output token the adaptive timeout uses.</param>
public sealed record EndpointHealthSample(string Endpoint, string State, int Trips, long Requests, long Failures, double? LatencyP95Ms, double? PerOutputTokenMs);
