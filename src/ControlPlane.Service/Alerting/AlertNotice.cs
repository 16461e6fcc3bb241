using ControlPlane.Domain.Slo;

namespace ControlPlane.Service.Alerting;

/// <summary>Where an alert is in its life: a condition seen but not yet held long enough, firing, or over.</summary>
public enum AlertState : byte
{
    /// <summary>The condition holds but not yet for the rule's <c>for</c> duration: not delivered.</summary>
    Pending = 1,
    /// <summary>The condition has held long enough: delivered to the owners' receivers.</summary>
    Firing = 2,
    /// <summary>A firing alert whose condition cleared: delivered as resolved, then forgotten.</summary>
    Resolved = 3,
}

/// <summary>Tactical alerts page the owning team now; strategic alerts go to its chat channel, never page.</summary>
public enum AlertKind : byte
{
    /// <summary>Pages (PagerDuty-compatible receivers and the team's page channel).</summary>
    Tactical = 1,
    /// <summary>Chat channel or ticket; no page.</summary>
    Strategic = 2,
}

/// <summary>What an alert is about.</summary>
public enum AlertTargetKind : byte
{
    /// <summary>A provider endpoint (its grain owns and deduplicates the alert).</summary>
    Endpoint = 1,
    /// <summary>A workload class (its grain owns and deduplicates the alert).</summary>
    WorkloadClass = 2,
}

/// <summary>
/// One state change of one alert, as the owning grain (the endpoint's or the class's: one per cluster) decided it and
/// persisted it, handed to <see cref="IAlertNotifier"/> for delivery. <see cref="Key"/> is stable for the alert's whole
/// life (rule + target), so receivers deduplicate on it (PagerDuty <c>dedup_key</c>); <see cref="Sequence"/> grows with
/// every state change of that key, so a receiver seeing an older sequence after a newer one can drop it.
/// </summary>
/// <param name="Key">Stable identity, <c>{rule}:{target kind}:{target id}</c>, e.g. <c>provider-error-rate:endpoint:openai-gpt4o-us</c>.</param>
/// <param name="Rule">The rule name (also the runbook's file name under <c>docs/runbooks/</c> for tactical rules).</param>
/// <param name="Kind">Tactical (page) or strategic (chat).</param>
/// <param name="Severity">Ticket, page or critical.</param>
/// <param name="State">Pending, firing or resolved.</param>
/// <param name="TargetKind">Endpoint or workload class.</param>
/// <param name="TargetId">The endpoint id or class name.</param>
/// <param name="WorkloadClasses">The classes it is routed by: the class itself, or for an endpoint alert the classes
/// that route to that endpoint (primary or fallback).</param>
/// <param name="OwnerTeam">The owning team from the fleet file (the endpoint's <c>owner_team</c> or the class's <c>owner</c>).</param>
/// <param name="OnCall">The owner's on-call from the fleet file (may be empty).</param>
/// <param name="Runbook">Runbook link for the rule.</param>
/// <param name="Summary">One line for a human: what, where, how much against what threshold.</param>
/// <param name="Value">The measured value.</param>
/// <param name="Threshold">The threshold it crossed.</param>
/// <param name="Window">The window the value was measured over.</param>
/// <param name="StartedAt">When the condition was first seen (the pending start).</param>
/// <param name="ChangedAt">When this state change happened.</param>
/// <param name="Sequence">Per-key change counter, starting at 1.</param>
public sealed record AlertNotice(
    string Key,
    string Rule,
    AlertKind Kind,
    AlertSeverity Severity,
    AlertState State,
    AlertTargetKind TargetKind,
    string TargetId,
    IReadOnlyList<string> WorkloadClasses,
    string OwnerTeam,
    string OnCall,
    string Runbook,
    string Summary,
    double Value,
    double Threshold,
    TimeSpan Window,
    DateTimeOffset StartedAt,
    DateTimeOffset ChangedAt,
    long Sequence)
{
    /// <summary>The key of an alert of <paramref name="rule"/> on a target.</summary>
    public static string KeyOf(string rule, AlertTargetKind kind, string targetId) =>
        $"{rule}:{(kind == AlertTargetKind.Endpoint ? "endpoint" : "class")}:{targetId}";
}

/// <summary>
/// Takes alert state changes from the grains that own them and delivers them to the owners' receivers. Implementations
/// must persist (or otherwise make durable) a notice before <see cref="PublishAsync"/> completes, must never block the
/// caller on a receiver (delivery happens after, with retries and backoff), and must be idempotent on
/// (<see cref="AlertNotice.Key"/>, <see cref="AlertNotice.Sequence"/>) so a grain may republish after a restart.
/// </summary>
public interface IAlertNotifier
{
    /// <summary>Accepts <paramref name="notice"/> for delivery.</summary>
    Task PublishAsync(AlertNotice notice, CancellationToken cancellationToken = default);
}
