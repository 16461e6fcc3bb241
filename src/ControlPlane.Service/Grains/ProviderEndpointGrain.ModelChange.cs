using ControlPlane.Domain.Endpoints;
using ControlPlane.Fleet;
using ControlPlane.Service.Admin;
using ControlPlane.Service.Audit;
using ControlPlane.Service.Catalog;
using ControlPlane.Service.Security;
using Microsoft.Extensions.Logging;

namespace ControlPlane.Service.Grains;

// Silent model changes: outcomes report the model version the provider actually served. One that differs from the
// pinned version raises a model-change alert (owner, on-call, observed vs pinned, first seen) and, with
// on_model_change: drain, drains the endpoint until an operator acknowledges it.
internal sealed partial class ProviderEndpointGrain
{
    /// <summary>The override actor of a drain the grain set for a model change (only this drain is cleared by an ack).</summary>
    internal static readonly AdminActor ModelChangeActor = AdminActor.System("model-change");

    public async Task<EndpointDetails> AcknowledgeModelChangeAsync(ModelChangeAck ack)
    {
        ArgumentNullException.ThrowIfNull(ack);
        ArgumentException.ThrowIfNullOrWhiteSpace(ack.Actor.Principal);
        ArgumentException.ThrowIfNullOrWhiteSpace(ack.Reason);
        if (State.ModelChange is not { } change)
        {
            throw new AdminException(AdminErrorKind.Conflict, "id", $"endpoint '{_descriptor.Id}' has no model change to acknowledge");
        }

        if (change.Acknowledged)
        {
            // A retried acknowledgement: already persisted and audited once.
            return Details();
        }

        await AuditOutbox.EnsureRoomAsync();
        var now = time.GetUtcNow();
        var before = _health.Current();
        // Only the drain this grain set: an operator's own drain (or any other override) stays.
        var clearDrain = before.Override is { Kind: OverrideKind.Drain } drain && drain.IsActive(now)
            && string.Equals(drain.Actor, ModelChangeActor.Principal, StringComparison.Ordinal);
        if (clearDrain)
        {
            _health.ClearOverride(ack.Actor.Principal);
        }

        State.ModelChange = change with { Acknowledged = true, AcknowledgedBy = ack.Actor.Principal, AcknowledgedAt = now };
        // The audit entry is written with the change (the outbox), then delivered to the trail.
        AuditOutbox.Stage(new AuditEntry(0, now, ack.Actor,
            "endpoint.model_change_ack", _descriptor.Id, ack.Reason,
            $"model change {change.Observed} (pinned {change.Pinned}) unacknowledged{(clearDrain ? "; drained by model-change" : "")}",
            $"acknowledged{(clearDrain ? "; drain cleared" : "")}"));
        await PublishAsync(_health.DrainEvents(), refreshLoad: false, persist: true, audit: AuditOutbox.DeliverAsync);
        return Details();
    }

    private async Task ObserveModelChangeAsync(string observed)
    {
        var pinned = _descriptor.ModelVersion;
        if (string.Equals(observed, pinned, StringComparison.Ordinal)
            || (State.ModelChange is { } known && known.Pinned == pinned && (known.Observed == observed || !known.Acknowledged)))
        {
            // The pinned version (a node on an older fleet file), a change already raised, or any other version while a
            // raised change awaits acknowledgement: one alert, one drain, one audit entry per change until someone looks,
            // however many versions a provider (or a reporter) cycles through.
            return;
        }

        var now = time.GetUtcNow();
        var entry = catalog.Endpoints[_descriptor.Id];
        var previous = State.ModelChange;
        var current = _health.Current().Override;
        var active = current is { } o && o.IsActive(now) ? o : null;
        var ours = active is { Kind: OverrideKind.Drain } && string.Equals(active.Actor, ModelChangeActor.Principal, StringComparison.Ordinal);
        // Never replaces an operator's override; a drain of ours for an earlier unacknowledged change carries over.
        var drain = entry.OnModelChange == ModelChangeAction.Drain && (active is null || ours);
        var reason = $"provider returned model version {observed}; pinned {pinned}";
        if (drain && !ours)
        {
            _health.SetOverride(new AdminOverride(OverrideKind.Drain, ModelChangeActor.Principal, reason + "; drained until acknowledged", now, null));
        }

        State.ModelChange = new ModelChangeRecord(pinned, observed, now) { Drained = drain };
        LogModelChange(logger, _descriptor.Id, observed, pinned, entry.OwnerTeam, entry.OnCall, drain ? "drained until acknowledged" : "alert only");
        AuditOutbox.Stage(new AuditEntry(0, now, ModelChangeActor,
            "endpoint.model_change", _descriptor.Id, reason,
            previous is null ? $"model {pinned}" : $"model change {previous.Observed} {(previous.Acknowledged ? "acknowledged" : "unacknowledged")}",
            $"observed {observed}; {(drain ? "drained until acknowledged" : "alert")}; owner {entry.OwnerTeam}, on-call {entry.OnCall}"));
        await PublishAsync(_health.DrainEvents(), refreshLoad: true, persist: true, audit: AuditOutbox.DeliverAsync);
    }

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Model change on endpoint {Endpoint}: the provider returned {Observed}, pinned {Pinned}; routed to owner {OwnerTeam}, on-call {OnCall}; {Action}.")]
    private static partial void LogModelChange(ILogger logger, string endpoint, string observed, string pinned, string ownerTeam, string onCall, string action);
}
