using ControlPlane.Domain.Slo;

namespace ControlPlane.Service.Alerting;

/// <summary>One alert key's persisted life (pending, firing, resolved), kept with its owning grain's state. Records are
/// never forgotten (a target has one per rule, a bounded set), so a key's <see cref="Sequence"/> only grows.</summary>
[GenerateSerializer, Alias("cp.AlertRecord")]
public sealed class AlertRecord
{
    /// <summary>The alert's key (<see cref="AlertNotice.KeyOf"/>).</summary>
    [Id(0)]
    public string Key { get; set; } = "";

    /// <summary>The rule name.</summary>
    [Id(1)]
    public string Rule { get; set; } = "";

    /// <summary>Tactical or strategic.</summary>
    [Id(2)]
    public AlertKind Kind { get; set; }

    /// <summary>The severity as last published (or seen, while pending).</summary>
    [Id(3)]
    public AlertSeverity Severity { get; set; }

    /// <summary>Pending, firing or resolved.</summary>
    [Id(4)]
    public AlertState State { get; set; }

    /// <summary>When the condition was first seen (the pending start).</summary>
    [Id(5)]
    public DateTimeOffset StartedAt { get; set; }

    /// <summary>When the state last changed.</summary>
    [Id(6)]
    public DateTimeOffset ChangedAt { get; set; }

    /// <summary>Published state changes of this key (0: none yet).</summary>
    [Id(7)]
    public long Sequence { get; set; }

    /// <summary>False from the write of a state change until the notifier accepted its notice: a new activation
    /// republishes it (same key and sequence, so receivers see it once).</summary>
    [Id(8)]
    public bool Published { get; set; } = true;

    /// <summary>The measured value at the last change.</summary>
    [Id(9)]
    public double Value { get; set; }

    /// <summary>The threshold it was judged against.</summary>
    [Id(10)]
    public double Threshold { get; set; }

    /// <summary>The window the value was measured over.</summary>
    [Id(11)]
    public TimeSpan Window { get; set; }

    /// <summary>One line for a human.</summary>
    [Id(12)]
    public string Summary { get; set; } = "";

    /// <summary>True while pending or firing.</summary>
    public bool IsActive => State is AlertState.Pending or AlertState.Firing;
}

/// <summary>What an owning grain persists about its alerts: every key's record and the long-window counts (hourly and
/// daily buckets, varint-coded) the rules read.</summary>
[GenerateSerializer, Alias("cp.AlertBookState")]
public sealed class AlertBookState
{
    /// <summary>Every alert key this target has had, in first-seen order.</summary>
    [Id(0)]
    public List<AlertRecord> Alerts { get; set; } = [];

    /// <summary>The rules' bucketed counts (<c>EndpointAlertRules.Export</c>, <c>ClassAlertRules.Export</c>).</summary>
    [Id(1)]
    public byte[]? Counts { get; set; }
}

/// <summary>A rule's verdict at one evaluation: the condition holds with this value.</summary>
/// <param name="Rule">The rule name.</param>
/// <param name="Kind">Tactical or strategic.</param>
/// <param name="Severity">The severity it holds at now (a rule may escalate: page to critical).</param>
/// <param name="Value">The measured value.</param>
/// <param name="Threshold">What it crossed.</param>
/// <param name="Window">The window measured.</param>
/// <param name="For">How long the condition must hold before it fires (zero: fires at once).</param>
/// <param name="Summary">One line for a human.</param>
internal sealed record AlertCondition(string Rule, AlertKind Kind, AlertSeverity Severity, double Value, double Threshold, TimeSpan Window,
    TimeSpan For, string Summary);

/// <summary>Who an owning grain's alerts are about and whom they go to.</summary>
/// <param name="Kind">Endpoint or class.</param>
/// <param name="Id">The endpoint id or class name.</param>
/// <param name="WorkloadClasses">The classes the alert is routed by.</param>
/// <param name="OwnerTeam">The owning team.</param>
/// <param name="OnCall">The owner's on-call.</param>
internal sealed record AlertTarget(AlertTargetKind Kind, string Id, IReadOnlyList<string> WorkloadClasses, string OwnerTeam, string OnCall);
