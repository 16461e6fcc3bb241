using ControlPlane.Contracts.V1;
using ControlPlane.Service.Grains;
using ControlPlane.Service.Security;
using Grpc.Core;
using Microsoft.Extensions.Options;

namespace ControlPlane.Service.Federation;

/// <summary>The <c>controlplane.v1.Federation</c> service peer regions call (role <c>federation</c>, data-plane
/// listener; <c>docs/regions.md</c>).</summary>
internal sealed partial class FederationService(
    FederationFeedSource feed, FleetCatalog catalog, IOptions<FederationOptions> options, TimeProvider time, IGrainFactory grains)
    : Contracts.V1.Federation.FederationBase
{
    /// <summary>Longest id (endpoint, class, region, batch or request id) accepted on the wire.</summary>
    internal const int MaxIdLength = 256;

    private FederationOptions Options => options.Value;

    [RequireRoles(Roles.Federation)]
    public override async Task WatchChanges(WatchChangesRequest request, IServerStreamWriter<FederationChange> responses, ServerCallContext context)
    {
        RequireEnabled();
        RequirePeer(request.Region, "region");
        // Bounded by the fleet: at most one entry per endpoint and class.
        int bound = catalog.Endpoints.Count + catalog.Classes.Count;
        if (request.Known.Count > bound)
        {
            throw Invalid("known", $"at most {bound} entries (one per endpoint and class of the fleet), got {request.Known.Count}");
        }

        var sent = new Dictionary<string, long>(StringComparer.Ordinal);
        for (int i = 0; i < request.Known.Count; i++)
        {
            var item = request.Known[i];
            string field = $"known[{i}]";
            if (item.Kind != FederationItemKind.Endpoint && item.Kind != FederationItemKind.Class)
            {
                throw Invalid(field + ".kind", "must be ENDPOINT or CLASS");
            }

            if (item.Kind == FederationItemKind.Endpoint && (item.Id.Length > MaxIdLength || !catalog.Endpoints.ContainsKey(item.Id)))
            {
                throw Invalid(field + ".id", $"unknown endpoint '{Shorten(item.Id)}'");
            }

            if (item.Version < 0)
            {
                throw Invalid(field + ".version", "must not be negative");
            }

            if (item.Kind == FederationItemKind.Endpoint && !sent.TryAdd(item.Id, item.Version))
            {
                throw Invalid(field + ".id", $"endpoint '{item.Id}' is listed twice");
            }
        }

        var token = context.CancellationToken;
        var heartbeat = Options.HeartbeatInterval;
        bool synced = false;
        int firstSync = 0;
        while (!token.IsCancellationRequested)
        {
            var changed = feed.Changed;
            int written = 0;
            foreach (var status in feed.Current)
            {
                if (!sent.TryGetValue(status.EndpointId, out long held) || status.Version > held)
                {
                    sent[status.EndpointId] = status.Version;
                    await responses.WriteAsync(new FederationChange { Endpoint = FederatedStates.ToWire(status) }, token).ConfigureAwait(false);
                    written++;
                }
            }

            if (!synced)
            {
                // Everything this node has seen of the homed endpoints; live changes follow.
                firstSync += written;
                if (feed.Current.Count() >= feed.HomedEndpoints.Count)
                {
                    synced = true;
                    await responses.WriteAsync(new FederationChange { Synced = new FederationSynced { ItemsSent = firstSync } }, token).ConfigureAwait(false);
                }
            }

            try
            {
                await changed.WaitAsync(heartbeat, time, token).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                await responses.WriteAsync(new FederationChange
                {
                    Heartbeat = new FederationHeartbeat { SentUnixMs = time.GetUtcNow().ToUnixTimeMilliseconds() },
                }, token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return;
            }
        }
    }

    /// <summary>Longest override reason or actor accepted from a peer.</summary>
    internal const int MaxReasonLength = 1024;

    /// <summary>Longest override lifetime accepted (30 days).</summary>
    internal const long MaxTtlSeconds = 30L * 24 * 3600;

    private static readonly HashSet<string> AuditActions = new(StringComparer.Ordinal)
    {
        "breaker.force_open", "breaker.force_closed", "breaker.auto", "endpoint.drain", "endpoint.undrain",
    };

    [RequireRoles(Roles.Federation)]
    public override async Task<ApplyOverrideReply> ApplyOverride(ApplyOverrideRequest request, ServerCallContext context)
    {
        RequireEnabled();
        RequirePeer(request.OriginRegion, "origin_region");
        if (string.IsNullOrEmpty(request.RequestId) || request.RequestId.Length > MaxIdLength)
        {
            throw Invalid("request_id", $"is required, at most {MaxIdLength} characters");
        }

        if (request.Sequence <= 0)
        {
            throw Invalid("sequence", "must be positive");
        }

        if (request.EndpointId.Length > MaxIdLength || !catalog.Endpoints.TryGetValue(request.EndpointId, out var entry))
        {
            throw NotFound("endpoint_id", $"unknown endpoint '{Shorten(request.EndpointId)}'");
        }

        if (entry.Descriptor.Region != Options.Region)
        {
            throw Invalid("endpoint_id", $"endpoint '{entry.Id}' is homed in region '{entry.Descriptor.Region}', not here");
        }

        if (!Enum.IsDefined(request.Kind) || (!request.Clear && request.Kind == FederatedOverrideKind.None))
        {
            throw Invalid("kind", "must name an override (FORCE_OPEN, FORCE_CLOSED or DRAIN) unless clear is set");
        }

        if (string.IsNullOrWhiteSpace(request.Actor) || request.Actor.Length > MaxIdLength)
        {
            throw Invalid("actor", $"is required, at most {MaxIdLength} characters");
        }

        if (string.IsNullOrWhiteSpace(request.Reason) || request.Reason.Length > MaxReasonLength)
        {
            throw Invalid("reason", $"is required, at most {MaxReasonLength} characters");
        }

        if (request.TtlSeconds is < 0 or > MaxTtlSeconds)
        {
            throw Invalid("ttl_seconds", $"must be between 0 and {MaxTtlSeconds}");
        }

        if (!AuditActions.Contains(request.AuditAction))
        {
            throw Invalid("audit_action", $"must be one of {string.Join(", ", AuditActions)}");
        }

        var kind = request.Kind == FederatedOverrideKind.None ? (Domain.Endpoints.OverrideKind?)null : (Domain.Endpoints.OverrideKind)(int)request.Kind;
        var caller = context.GetHttpContext().User.Identity?.Name ?? "federation";
        var forwarded = new ForwardedOverride(request.OriginRegion, request.Sequence, request.Clear ? null : kind, request.Clear ? kind : null,
            new AdminActor(request.Actor, [], caller, $"region:{request.OriginRegion}", request.RequestId), request.Reason,
            request.TtlSeconds > 0 ? TimeSpan.FromSeconds(request.TtlSeconds) : null, request.AuditAction);
        try
        {
            var details = await grains.GetGrain<IProviderEndpointGrain>(entry.Id).ApplyForwardedOverrideAsync(forwarded);
            return new ApplyOverrideReply
            {
                State = FederatedStates.ToWire(new EndpointStatus(entry.Id, details.View, default, details.Version)),
            };
        }
        catch (Admin.AdminException e)
        {
            throw new RpcException(new Status(e.Kind == Admin.AdminErrorKind.Conflict ? StatusCode.FailedPrecondition : StatusCode.InvalidArgument, e.Message));
        }
    }

    private void RequireEnabled()
    {
        if (!Options.Enabled)
        {
            throw new RpcException(new Status(StatusCode.FailedPrecondition, "federation is off on this cluster (no --region)"));
        }
    }

    private void RequirePeer(string region, string field)
    {
        if (string.IsNullOrEmpty(region))
        {
            throw Invalid(field, "is required");
        }

        if (region.Length > MaxIdLength || catalog.Fleet.Regions.Find(region) is null)
        {
            throw Invalid(field, $"unknown region '{Shorten(region)}'");
        }

        if (region == Options.Region)
        {
            throw Invalid(field, $"'{region}' is this cluster's own region");
        }
    }

    private static RpcException Invalid(string field, string message) => new(new Status(StatusCode.InvalidArgument, $"{field}: {message}"));

    private static RpcException NotFound(string field, string message) => new(new Status(StatusCode.NotFound, $"{field}: {message}"));

    private static string Shorten(string value) => value.Length > 64 ? value[..64] + "..." : value;
}
