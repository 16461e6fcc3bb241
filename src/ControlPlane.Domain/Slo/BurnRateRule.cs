namespace ControlPlane.Domain.Slo;

/// <summary>A multi-window burn-rate rule (Google SRE workbook, ch. 5): fires when the error budget burns faster
/// than <paramref name="BurnRate"/> over both the long and the short window.</summary>
/// <param name="Severity">Page or ticket.</param>
/// <param name="LongWindow">Long window (e.g. 1 h).</param>
/// <param name="ShortWindow">Short window (e.g. 5 min), a twelfth of the long one in the workbook.</param>
/// <param name="BurnRate">Burn-rate threshold (1 = the budget lasts exactly the SLO period).</param>
public sealed record BurnRateRule(AlertSeverity Severity, TimeSpan LongWindow, TimeSpan ShortWindow, double BurnRate)
{
    /// <summary>The workbook's recommended rules for a 30-day SLO: page on 1h/5m at 14.4 and 6h/30m at 6,
    /// ticket on 1d/2h at 3 and 3d/6h at 1.</summary>
    public static IReadOnlyList<BurnRateRule> Workbook { get; } =
    [
        new(AlertSeverity.Page, TimeSpan.FromHours(1), TimeSpan.FromMinutes(5), 14.4),
        new(AlertSeverity.Page, TimeSpan.FromHours(6), TimeSpan.FromMinutes(30), 6),
        new(AlertSeverity.Ticket, TimeSpan.FromDays(1), TimeSpan.FromHours(2), 3),
        new(AlertSeverity.Ticket, TimeSpan.FromDays(3), TimeSpan.FromHours(6), 1),
    ];

    /// <summary>Rule name part, e.g. <c>1h-5m</c>.</summary>
    public string WindowsName => $"{Format(LongWindow)}-{Format(ShortWindow)}";

    private static string Format(TimeSpan span) =>
        span.TotalDays >= 1 && span.TotalDays % 1 == 0 ? $"{span.TotalDays}d"
        : span.TotalHours >= 1 && span.TotalHours % 1 == 0 ? $"{span.TotalHours}h"
        : $"{span.TotalMinutes}m";
}
