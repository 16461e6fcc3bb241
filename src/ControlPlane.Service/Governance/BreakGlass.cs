using ControlPlane.Domain.Policy;
using ControlPlane.Service.Security;

namespace ControlPlane.Service.Governance;

/// <summary>A class's active break-glass: its mode forced to <c>queue_only</c> or <c>fail</c> by an operator, over the
/// approved policy, until cleared or expired.</summary>
/// <param name="Id">The break-glass id, <c>{class}~bg{n}</c>.</param>
/// <param name="Mode">The forced mode.</param>
/// <param name="SetBy">The operator's principal.</param>
/// <param name="Reason">Why.</param>
/// <param name="At">When it was set.</param>
/// <param name="ExpiresAt">When it lapses by itself; null for until cleared.</param>
[Immutable]
public sealed record ActiveBreakGlass(string Id, RoutingMode Mode, string SetBy, string Reason, DateTimeOffset At, DateTimeOffset? ExpiresAt)
{
    /// <summary>True while in force at <paramref name="now"/>.</summary>
    public bool IsActive(DateTimeOffset now) => ExpiresAt is not { } until || until > now;
}

/// <summary>A break-glass as recorded for review.</summary>
/// <param name="Id">The break-glass id.</param>
/// <param name="Class">The class.</param>
/// <param name="Mode">The forced mode (wire name).</param>
/// <param name="SetBy">The operator.</param>
/// <param name="Reason">Why.</param>
/// <param name="At">When.</param>
/// <param name="ExpiresAt">When it lapses by itself, if it does.</param>
[Immutable]
public sealed record BreakGlassRecord(string Id, string Class, string Mode, string SetBy, string Reason, DateTimeOffset At, DateTimeOffset? ExpiresAt)
{
    /// <summary>When it was cleared (or replaced by a newer break-glass).</summary>
    public DateTimeOffset? ClearedAt { get; init; }

    /// <summary>Who cleared it.</summary>
    public string? ClearedBy { get; init; }

    /// <summary>Why it was cleared.</summary>
    public string? ClearReason { get; init; }

    /// <summary>When a policy-approver reviewed it.</summary>
    public DateTimeOffset? ReviewedAt { get; init; }

    /// <summary>Who reviewed it.</summary>
    public string? ReviewedBy { get; init; }

    /// <summary>The review's note.</summary>
    public string? ReviewReason { get; init; }

    /// <summary>True while in force at <paramref name="now"/>.</summary>
    public bool IsActive(DateTimeOffset now) => ClearedAt is null && (ExpiresAt is not { } until || until > now);
}

/// <summary>An operator's break-glass on a class.</summary>
/// <param name="Id">The id the proposals grain assigned (a retry with the same id is a no-op).</param>
/// <param name="Mode"><see cref="RoutingMode.QueueOnly"/> or <see cref="RoutingMode.Fail"/>.</param>
/// <param name="Actor">The operator.</param>
/// <param name="Reason">Why.</param>
/// <param name="Ttl">How long; null for until cleared.</param>
[Immutable]
public sealed record BreakGlassChange(string Id, RoutingMode Mode, AdminActor Actor, string Reason, TimeSpan? Ttl);

/// <summary>An operator's break-glass request, validated by the admin layer.</summary>
/// <param name="Mode"><see cref="RoutingMode.QueueOnly"/> or <see cref="RoutingMode.Fail"/>.</param>
/// <param name="Reason">Why.</param>
/// <param name="Ttl">How long; null for until cleared.</param>
[Immutable]
public sealed record BreakGlassCommand(RoutingMode Mode, string Reason, TimeSpan? Ttl);
