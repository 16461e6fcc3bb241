using ControlPlane.Contracts.V1;
using ControlPlane.Domain.Endpoints;
using ControlPlane.Service.Admin;
using ControlPlane.Service.Federation;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ControlPlane.Service.Grains;

/// <summary>Federation: overrides made in a follower region go to the home region (<c>docs/regions.md</c>). The follower
/// applies the change locally at once (operators' intent wins locally), persists it in an ordered outbox with its
/// audit entry, answers "pending home region", and sends the outbox in order (now, then every second while it is not
/// empty) until the home region acknowledges each; the home region applies each sequence once, in order, audited with
/// the origin region.</summary>
internal sealed partial class ProviderEndpointGrain
{
    private static readonly TimeSpan ForwardDeadline = TimeSpan.FromSeconds(2);
    private IGrainTimer? _outboxTimer;

    private List<ForwardedOverride> FederationOutbox => State.FederationOutbox ??= [];

    private FederationStatus? FederationView() => Federation.Enabled
        ? new FederationStatus(_descriptor.Region, IsFollower, State.FederationOutbox?.Count ?? 0, State.Followed?.HomeVersion ?? 0)
        : null;

    // While changes made here wait for the home region, the newest of them decides the local view.
    private Domain.Endpoints.EndpointHealthView WithPendingOverride(Domain.Endpoints.EndpointHealthView view)
    {
        if (State.FederationOutbox is not { Count: > 0 })
        {
            return view;
        }

        var local = State.FederationLocalOverride;
        return local?.Kind switch
        {
            OverrideKind.ForceOpen or OverrideKind.Drain => view with { State = BreakerState.Open, Reason = BreakerReason.Forced, TrafficFraction = 0, Degraded = false, Override = local },
            OverrideKind.ForceClosed => view with { State = BreakerState.Closed, Reason = BreakerReason.Forced, TrafficFraction = 1, Degraded = false, Override = local },
            _ => view.Override is null ? view : view with { Override = null, State = BreakerState.Closed, Reason = BreakerReason.None, TrafficFraction = 1 },
        };
    }

    private async Task<EndpointDetails> ChangeOverrideAsFollowerAsync(OverrideChange change)
    {
        await AuditOutbox.EnsureRoomAsync();
        var now = time.GetUtcNow();
        var before = RoutingView();
        if (change.RequireCurrent is { } required && (before.Override is not { } current || current.Kind != required || !current.IsActive(now)))
        {
            throw new AdminException(AdminErrorKind.Conflict, "id", required == OverrideKind.Drain
                ? $"endpoint '{_descriptor.Id}' is not drained"
                : $"endpoint '{_descriptor.Id}' has no active {AdminNames.Override(required)} override");
        }

        var local = change.Kind is { } kind
            ? new AdminOverride(kind, change.Actor.Principal, change.Reason, now, change.Ttl is { } t ? now + t : null)
            : null;
        State.FederationSequence++;
        FederationOutbox.Add(new ForwardedOverride(Federation.Region!, State.FederationSequence, change.Kind, change.RequireCurrent, change.Actor,
            change.Reason, change.Ttl, change.AuditAction));
        State.FederationLocalOverride = local;
        State.Version = PublicationVersion.Next(State.Version, time);
        var after = RoutingView();
        string previous = before.Override is { } o ? AdminNames.Override(o.Kind) : "none";
        string next = after.Override is { } n ? AdminNames.Override(n.Kind) : "none";
        AuditOutbox.Stage(new AuditEntry(0, now, change.Actor, change.AuditAction, _descriptor.Id, change.Reason,
            $"override {previous}; breaker {AdminNames.Breaker(before.State)}",
            $"override {next}; breaker {AdminNames.Breaker(after.State)}; pending home region {_descriptor.Region} (#{State.FederationSequence})"));
        // The change and its place in the outbox are written before anything is pushed or answered.
        await PersistAsync();
        await AuditOutbox.DeliverAsync();
        var status = Status();
        await _subscribers.NotifyAsync(observer => observer.OnEndpointChangedAsync(status));
        await SendOutboxAsync();
        EnsureOutboxTimer();
        return Details();
    }

    /// <summary>Home region: applies a change forwarded by a follower region, once per (origin, sequence) and in order.</summary>
    public async Task<EndpointDetails> ApplyForwardedOverrideAsync(ForwardedOverride forwarded)
    {
        ArgumentNullException.ThrowIfNull(forwarded);
        if (IsFollower || !Federation.Enabled)
        {
            throw new AdminException(AdminErrorKind.Invalid, "endpoint_id", $"endpoint '{_descriptor.Id}' is not homed in this region");
        }

        var applied = State.ForwardedApplied ??= new Dictionary<string, long>(StringComparer.Ordinal);
        if (applied.TryGetValue(forwarded.OriginRegion, out long last) && forwarded.Sequence <= last)
        {
            return Details();
        }

        // Written with the change itself (or on its own when the change is refused), so a retry is never applied twice.
        applied[forwarded.OriginRegion] = forwarded.Sequence;
        var actor = forwarded.Actor with { Source = $"region:{forwarded.OriginRegion}" };
        try
        {
            return await ChangeOverrideAsync(new OverrideChange(forwarded.Kind, actor, forwarded.Reason, forwarded.Ttl, forwarded.AuditAction,
                forwarded.RequireCurrent));
        }
        catch (AdminException)
        {
            await PersistAsync();
            throw;
        }
    }

    private void ResumeFederationOutbox()
    {
        if (State.FederationOutbox is { Count: > 0 })
        {
            EnsureOutboxTimer();
        }
    }

    private void EnsureOutboxTimer()
    {
        if (_outboxTimer is null && State.FederationOutbox is { Count: > 0 })
        {
            _outboxTimer = this.RegisterGrainTimer(async _ =>
            {
                await SendOutboxAsync();
                if (State.FederationOutbox is not { Count: > 0 })
                {
                    _outboxTimer?.Dispose();
                    _outboxTimer = null;
                }
            }, new GrainTimerCreationOptions(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1)));
        }
    }

    // Sends the outbox oldest first; stops at the first change the home region could not be asked about (the link is
    // down: the timer retries). A change the home region refuses (a conflict there) is dropped with a warning: the
    // home region's state then stands, and the feed brings it back here.
    private async Task SendOutboxAsync()
    {
        var channels = ServiceProvider.GetService<FederationChannels>();
        if (channels is null || State.FederationOutbox is not { Count: > 0 } outbox)
        {
            return;
        }

        Contracts.V1.Federation.FederationClient client;
        try
        {
            client = new Contracts.V1.Federation.FederationClient(channels.For(_descriptor.Region));
        }
        catch (ArgumentException)
        {
            return;
        }

        while (outbox.Count > 0)
        {
            var next = outbox[0];
            try
            {
                var reply = await client.ApplyOverrideAsync(ToWire(_descriptor.Id, next), deadline: time.GetUtcNow().UtcDateTime + ForwardDeadline);
                // The home region's state after the change: adopted at once (the feed brings the same version later).
                if (reply.State is { } home && FederatedStates.FromWire(home, out _) is { } followed
                    && followed.HomeVersion > (State.Followed?.HomeVersion ?? 0))
                {
                    State.Followed = followed with { Load = State.Followed?.Load ?? default };
                }
            }
            catch (RpcException e) when (e.StatusCode is StatusCode.FailedPrecondition or StatusCode.InvalidArgument or StatusCode.NotFound)
            {
                logger.LogWarning("Endpoint {Endpoint}: region {Home} refused forwarded change #{Sequence}: {Detail}", _descriptor.Id, _descriptor.Region,
                    next.Sequence, e.Status.Detail);
            }
            catch (RpcException)
            {
                return;
            }

            outbox.RemoveAt(0);
            if (outbox.Count == 0)
            {
                State.FederationLocalOverride = null;
            }

            State.Version = PublicationVersion.Next(State.Version, time);
            await PersistAsync();
            var status = Status();
            await _subscribers.NotifyAsync(observer => observer.OnEndpointChangedAsync(status));
        }
    }

    private static ApplyOverrideRequest ToWire(string endpointId, ForwardedOverride f) => new()
    {
        EndpointId = endpointId,
        OriginRegion = f.OriginRegion,
        RequestId = f.RequestId,
        Sequence = f.Sequence,
        Kind = f.Kind is { } k ? (FederatedOverrideKind)(int)k : f.RequireCurrent is { } r ? (FederatedOverrideKind)(int)r : FederatedOverrideKind.None,
        Clear = f.Kind is null,
        Actor = f.Actor.Principal,
        Reason = f.Reason,
        TtlSeconds = f.Ttl is { } ttl ? (long)ttl.TotalSeconds : 0,
        AuditAction = f.AuditAction,
    };
}
