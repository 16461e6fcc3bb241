using ControlPlane.Domain.Endpoints;
using ControlPlane.Service.Security;

namespace ControlPlane.Service.Federation;

/// <summary>An override or drain made in a follower region for an endpoint homed elsewhere: kept in the follower
/// grain's ordered outbox (persisted) until the home region acknowledged it, and applied there in
/// <see cref="Sequence"/> order, each once.</summary>
/// <param name="OriginRegion">Where it was made.</param>
/// <param name="Sequence">Its place in the origin grain's outbox (1, 2, ...); the home applies a sequence once and in order.</param>
/// <param name="Kind">The override to set; null clears.</param>
/// <param name="RequireCurrent">When clearing: the override that must be active (an undrain).</param>
/// <param name="Actor">Who made it, in the origin region.</param>
/// <param name="Reason">Why.</param>
/// <param name="Ttl">How long it lasts; null for until cleared.</param>
/// <param name="AuditAction">The audit action, e.g. <c>breaker.force_open</c>.</param>
[Immutable]
public sealed record ForwardedOverride(string OriginRegion, long Sequence, OverrideKind? Kind, OverrideKind? RequireCurrent, AdminActor Actor,
    string Reason, TimeSpan? Ttl, string AuditAction)
{
    /// <summary>The idempotency key on the wire.</summary>
    public string RequestId => $"{OriginRegion}#{Sequence}";
}

/// <summary>What the admin view says about an endpoint under federation.</summary>
/// <param name="HomeRegion">The endpoint's home region.</param>
/// <param name="Follower">True in a region other than the home region.</param>
/// <param name="PendingHome">Changes made here not yet acknowledged by the home region (applied here meanwhile).</param>
/// <param name="HomeVersion">The home version last adopted (0: none yet).</param>
[Immutable]
public sealed record FederationStatus(string HomeRegion, bool Follower, int PendingHome, long HomeVersion);
