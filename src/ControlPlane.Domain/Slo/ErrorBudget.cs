namespace ControlPlane.Domain.Slo;

/// <summary>Which SLO of a workload class.</summary>
public enum SloKind : byte
{
    /// <summary>Requests served without an endpoint failure.</summary>
    Availability = 0,
    /// <summary>Quality verdicts that pass.</summary>
    Quality = 1,
    /// <summary>Served requests no slower than the class's latency objective (<see cref="SloOptions.LatencyThreshold"/>).</summary>
    Latency = 2,
}

/// <summary>The error budget of one SLO over its period, at one moment.</summary>
/// <param name="Kind">Which SLO.</param>
/// <param name="Target">The target, e.g. 0.995.</param>
/// <param name="Period">The budget period, e.g. 30 days.</param>
/// <param name="Events">Events in the period.</param>
/// <param name="BadEvents">Bad events in the period.</param>
public sealed record ErrorBudget(SloKind Kind, double Target, TimeSpan Period, long Events, long BadEvents)
{
    /// <summary>Bad events the period allows: (1 - target) x events.</summary>
    public double AllowedBadEvents => (1 - Target) * Events;

    /// <summary>Share of the budget used, 0 with no events; above 1 once the SLO is missed.</summary>
    public double Consumed => Events == 0 ? 0 : BadEvents / AllowedBadEvents;

    /// <summary>Share of the budget left: 1 - <see cref="Consumed"/> (negative once overspent).</summary>
    public double Remaining => 1 - Consumed;

    /// <summary>Share of good events over the period; 1 with no events.</summary>
    public double Attained => Events == 0 ? 1 : 1 - ((double)BadEvents / Events);
}
