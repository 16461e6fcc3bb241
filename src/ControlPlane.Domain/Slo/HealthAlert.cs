namespace ControlPlane.Domain.Slo;

/// <summary>How urgently an alert needs a human.</summary>
public enum AlertSeverity : byte
{
    /// <summary>Strategic: a ticket, handled in working hours.</summary>
    Ticket = 1,
    /// <summary>Tactical: a page, handled now.</summary>
    Page = 2,
    /// <summary>Tactical and escalated: a page to the on-call and their escalation (e.g. error rate above 15 %).</summary>
    Critical = 3,
}

/// <summary>A firing alert.</summary>
/// <param name="Name">Stable rule name, e.g. <c>slo-availability-burn-1h-5m</c> or <c>provider-error-rate</c>.</param>
/// <param name="Severity">Page (tactical) or ticket (strategic).</param>
/// <param name="Value">The measured value (a burn rate, a rate, a ratio to baseline...).</param>
/// <param name="Threshold">The value it exceeded.</param>
/// <param name="Window">The (long) window the value was measured over.</param>
/// <param name="At">When it was evaluated.</param>
public sealed record HealthAlert(string Name, AlertSeverity Severity, double Value, double Threshold, TimeSpan Window, DateTimeOffset At)
{
    /// <summary>The short window of a multi-window rule, if any.</summary>
    public TimeSpan? ShortWindow { get; init; }

    /// <summary>The value over <see cref="ShortWindow"/>, if any.</summary>
    public double? ShortValue { get; init; }
}
