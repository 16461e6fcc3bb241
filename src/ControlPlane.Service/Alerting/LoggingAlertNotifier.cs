using Microsoft.Extensions.Logging;

namespace ControlPlane.Service.Alerting;

/// <summary>The default <see cref="IAlertNotifier"/>, and the log of every accepted notice whichever notifier delivers
/// it: one structured log line per alert state change (Warning when firing, Information when resolved), with the key,
/// sequence, owner and runbook as fields. It never blocks and keeps nothing; a delivering notifier registered as
/// <see cref="IAlertNotifier"/> replaces it as the notifier (the grains still log through it).</summary>
internal sealed partial class LoggingAlertNotifier(ILogger<LoggingAlertNotifier> logger) : IAlertNotifier
{
    public Task PublishAsync(AlertNotice notice, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(notice);
        if (notice.State == AlertState.Resolved)
        {
            Resolved(notice.Rule, notice.Key, notice.Sequence, notice.OwnerTeam, notice.OnCall, notice.Summary, notice.Runbook);
        }
        else
        {
            Firing(notice.Rule, notice.Severity, notice.Key, notice.Sequence, notice.OwnerTeam, notice.OnCall, notice.Summary, notice.Runbook);
        }

        return Task.CompletedTask;
    }

    [LoggerMessage(EventId = 7100, Level = LogLevel.Warning,
        Message = "Alert {Rule} firing ({Severity}): {AlertKey} #{Sequence}, owner {OwnerTeam}, on-call {OnCall}: {Summary}; runbook {Runbook}")]
    private partial void Firing(string rule, Domain.Slo.AlertSeverity severity, string alertKey, long sequence, string ownerTeam, string onCall,
        string summary, string runbook);

    [LoggerMessage(EventId = 7101, Level = LogLevel.Information,
        Message = "Alert {Rule} resolved: {AlertKey} #{Sequence}, owner {OwnerTeam}, on-call {OnCall}: {Summary}; runbook {Runbook}")]
    private partial void Resolved(string rule, string alertKey, long sequence, string ownerTeam, string onCall, string summary, string runbook);
}
