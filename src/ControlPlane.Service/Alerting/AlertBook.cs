using Microsoft.Extensions.DependencyInjection;
using ControlPlane.Domain.Slo;

namespace ControlPlane.Service.Alerting;

/// <summary>
/// The state machine of one target's alerts (docs/alerts.md): a condition seen starts <c>pending</c> (or goes straight
/// to <c>firing</c> when its rule has no <c>for</c> duration); a pending condition that held for its duration at every
/// evaluation fires; a firing alert whose condition is absent at an evaluation resolves (a pending one is dropped
/// without a notice); a firing alert whose severity changes (page to critical and back) is a new state change. Every
/// published change increments the key's sequence. Works on the grain's persisted <see cref="AlertBookState"/>
/// directly, so any write of the grain's state carries it. Not thread-safe: one grain turn drives it.
/// </summary>
internal sealed class AlertBook(AlertBookState state)
{
    /// <summary>The link of a rule's runbook (delivery may rebase it on <c>alerting.runbook_base_url</c>).</summary>
    public static string Runbook(string rule) => $"docs/runbooks/{rule}.md";

    /// <summary>The persisted records.</summary>
    public IReadOnlyList<AlertRecord> Records => state.Alerts;

    /// <summary>Applies one evaluation: <paramref name="conditions"/> are every condition that holds now (one per rule);
    /// every active key absent from them is clear. Returns the notices to publish (after the state is persisted).</summary>
    public IReadOnlyList<AlertNotice> Evaluate(DateTimeOffset now, IReadOnlyList<AlertCondition> conditions, AlertTarget target)
    {
        ArgumentNullException.ThrowIfNull(conditions);
        ArgumentNullException.ThrowIfNull(target);
        List<AlertNotice>? notices = null;
        foreach (var condition in conditions)
        {
            var key = AlertNotice.KeyOf(condition.Rule, target.Kind, target.Id);
            var record = Find(key);
            if (record is null)
            {
                record = new AlertRecord { Key = key, Rule = condition.Rule, State = AlertState.Resolved };
                state.Alerts.Add(record);
            }

            var changed = false;
            if (!record.IsActive)
            {
                record.StartedAt = now;
                record.ChangedAt = now;
                record.State = AlertState.Pending;
                changed = condition.For <= TimeSpan.Zero;
            }
            else if (record.State == AlertState.Pending)
            {
                changed = now - record.StartedAt >= condition.For;
            }
            else
            {
                changed = record.Severity != condition.Severity;
            }

            record.Kind = condition.Kind;
            record.Severity = condition.Severity;
            record.Value = condition.Value;
            record.Threshold = condition.Threshold;
            record.Window = condition.Window;
            record.Summary = condition.Summary;
            if (changed)
            {
                record.State = AlertState.Firing;
                (notices ??= []).Add(Change(record, now, target));
            }
        }

        foreach (var record in state.Alerts)
        {
            if (!record.IsActive || Holds(conditions, record.Rule))
            {
                continue;
            }

            if (record.State == AlertState.Pending)
            {
                // Never delivered: dropped quietly.
                record.State = AlertState.Resolved;
                record.ChangedAt = now;
                continue;
            }

            record.State = AlertState.Resolved;
            record.Summary = $"resolved: {record.Summary}";
            (notices ??= []).Add(Change(record, now, target));
        }

        return notices ?? (IReadOnlyList<AlertNotice>)[];
    }

    /// <summary>Notices written but not known to be accepted by the notifier (a previous activation may have stopped
    /// between the write and the publication).</summary>
    public IReadOnlyList<AlertNotice> Unpublished(AlertTarget target) =>
        [.. state.Alerts.Where(r => !r.Published && r.Sequence > 0).Select(r => Notice(r, target))];

    /// <summary>Marks a notice accepted by the notifier (persisted with the next write).</summary>
    public void MarkPublished(AlertNotice notice)
    {
        ArgumentNullException.ThrowIfNull(notice);
        if (Find(notice.Key) is { } record && record.Sequence == notice.Sequence)
        {
            record.Published = true;
        }
    }

    /// <summary>Hands each of <paramref name="notices"/> (already persisted with the grain's state) to the silo's
    /// <see cref="IAlertNotifier"/>, marks the accepted ones published, and writes every accepted change's log line
    /// (whichever notifier delivers it); a notice the notifier refuses stays unpublished in storage and is published again
    /// by the next activation. Returns how many were accepted (the marks are then worth a soft write).</summary>
    public async Task<int> PublishAsync(IReadOnlyList<AlertNotice> notices, IServiceProvider services, Microsoft.Extensions.Logging.ILogger logger, string owner)
    {
        ArgumentNullException.ThrowIfNull(notices);
        ArgumentNullException.ThrowIfNull(services);
        if (notices.Count == 0)
        {
            return 0;
        }

        var notifier = services.GetRequiredService<IAlertNotifier>();
        var log = services.GetRequiredService<LoggingAlertNotifier>();
        var published = 0;
        foreach (var notice in notices)
        {
            try
            {
                await notifier.PublishAsync(notice);
                MarkPublished(notice);
                if (!ReferenceEquals(notifier, log))
                {
                    await log.PublishAsync(notice);
                }

                published++;
            }
            catch (Exception error) when (error is not OperationCanceledException)
            {
                Microsoft.Extensions.Logging.LoggerExtensions.LogWarning(logger, error,
                    "{Owner}: alert notice {AlertKey} #{Sequence} not accepted by the notifier.", owner, notice.Key, notice.Sequence);
            }
        }

        return published;
    }

    /// <summary>The alert of every record matching <paramref name="filter"/>, as notices (their last state change).</summary>
    public IEnumerable<AlertNotice> View(AlertTarget target, Func<AlertRecord, bool> filter) =>
        state.Alerts.Where(filter).Select(r => Notice(r, target));

    /// <summary>A record as a notice of its current state.</summary>
    public static AlertNotice Notice(AlertRecord record, AlertTarget target)
    {
        ArgumentNullException.ThrowIfNull(record);
        ArgumentNullException.ThrowIfNull(target);
        return new AlertNotice(record.Key, record.Rule, record.Kind, record.Severity, record.State, target.Kind, target.Id,
            target.WorkloadClasses, target.OwnerTeam, target.OnCall, Runbook(record.Rule), record.Summary, record.Value, record.Threshold,
            record.Window, record.StartedAt, record.ChangedAt, record.Sequence);
    }

    private static AlertNotice Change(AlertRecord record, DateTimeOffset now, AlertTarget target)
    {
        record.ChangedAt = now;
        record.Sequence++;
        record.Published = false;
        return Notice(record, target);
    }

    private static bool Holds(IReadOnlyList<AlertCondition> conditions, string rule)
    {
        foreach (var condition in conditions)
        {
            if (string.Equals(condition.Rule, rule, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    private AlertRecord? Find(string key)
    {
        foreach (var record in state.Alerts)
        {
            if (string.Equals(record.Key, key, StringComparison.Ordinal))
            {
                return record;
            }
        }

        return null;
    }
}
