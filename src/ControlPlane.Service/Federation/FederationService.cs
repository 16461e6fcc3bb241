using ControlPlane.Contracts.V1;
using ControlPlane.Service.Grains;
using ControlPlane.Service.Security;
using Grpc.Core;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace ControlPlane.Service.Federation;

/// <summary>The <c>controlplane.v1.Federation</c> service peer regions call (role <c>federation</c>, data-plane
/// listener; <c>docs/regions.md</c>).</summary>
internal sealed partial class FederationService(
    FederationFeedSource feed, FleetCatalog catalog, IOptions<FederationOptions> options, TimeProvider time, IGrainFactory grains,
    IHostApplicationLifetime lifetime)
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
        var sentClasses = new Dictionary<string, long>(StringComparer.Ordinal);
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

            if (item.Kind == FederationItemKind.Class && (item.Id.Length > MaxIdLength || !catalog.Classes.ContainsKey(item.Id)))
            {
                throw Invalid(field + ".id", $"unknown class '{Shorten(item.Id)}'");
            }

            if (item.Kind == FederationItemKind.Class && !sentClasses.TryAdd(item.Id, item.Version))
            {
                throw Invalid(field + ".id", $"class '{item.Id}' is listed twice");
            }
        }

        // The stream ends when the node stops (not only when the peer goes): an open feed would hold the server's
        // graceful shutdown for its whole timeout.
        using var stopping = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, lifetime.ApplicationStopping);
        try
        {
            await StreamChangesAsync(responses, sent, sentClasses, stopping.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
    }

    private async Task StreamChangesAsync(IServerStreamWriter<FederationChange> responses, Dictionary<string, long> sent, Dictionary<string, long> sentClasses,
        CancellationToken token)
    {
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

            // The policy home's class states (none elsewhere).
            foreach (var state in feed.CurrentClasses)
            {
                if (!sentClasses.TryGetValue(state.ClassName, out long held) || state.Version > held)
                {
                    sentClasses[state.ClassName] = state.Version;
                    await responses.WriteAsync(new FederationChange { ClassState = state }, token).ConfigureAwait(false);
                    written++;
                }
            }

            if (!synced)
            {
                // Everything this node has seen of the homed endpoints (and classes); live changes follow.
                firstSync += written;
                if (feed.Current.Count() >= feed.HomedEndpoints.Count && feed.CurrentClasses.Count >= feed.ExpectedClasses)
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
        RequireForwarded(request.OriginRegion, request.RequestId, request.Sequence);

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

        RequireActorAndReason(request.Actor, request.Reason);

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

    /// <summary>Longest latency or retry-after accepted on a forwarded outcome (one day, in ms).</summary>
    internal const long MaxMilliseconds = 86_400_000;

    /// <summary>Most tokens accepted on a forwarded outcome.</summary>
    internal const long MaxTokens = 100_000_000;

    [RequireRoles(Roles.Federation)]
    public override async Task<ForwardOutcomesReply> ForwardOutcomes(ForwardOutcomesRequest request, ServerCallContext context)
    {
        RequireEnabled();
        RequirePeer(request.Region, "region");
        if (string.IsNullOrEmpty(request.BatchId) || request.BatchId.Length > MaxIdLength)
        {
            throw Invalid("batch_id", $"is required, at most {MaxIdLength} characters");
        }

        if (request.Outcomes.Count == 0 || request.Outcomes.Count > Options.MaxForwardBatch)
        {
            throw Invalid("outcomes", $"between 1 and {Options.MaxForwardBatch} outcomes, got {request.Outcomes.Count}");
        }

        var now = time.GetUtcNow();
        var byEndpoint = new Dictionary<string, List<OutcomeRecord>>(StringComparer.Ordinal);
        for (int i = 0; i < request.Outcomes.Count; i++)
        {
            var forwarded = request.Outcomes[i];
            string field = $"outcomes[{i}]";
            var outcome = forwarded.Outcome ?? throw Invalid(field + ".outcome", "is required");
            if (outcome.EndpointId.Length > MaxIdLength || !catalog.Endpoints.TryGetValue(outcome.EndpointId, out var entry))
            {
                throw NotFound(field + ".outcome.endpoint_id", $"unknown endpoint '{Shorten(outcome.EndpointId)}'");
            }

            if (entry.Descriptor.Region != Options.Region)
            {
                throw Invalid(field + ".outcome.endpoint_id", $"endpoint '{entry.Id}' is homed in region '{entry.Descriptor.Region}', not here");
            }

            if (outcome.WorkloadClass.Length > MaxIdLength || !catalog.Classes.ContainsKey(outcome.WorkloadClass))
            {
                throw NotFound(field + ".outcome.workload_class", $"unknown workload class '{Shorten(outcome.WorkloadClass)}'");
            }

            if (outcome.Status is <= OutcomeStatus.Unspecified or > OutcomeStatus.ClientError)
            {
                throw Invalid(field + ".outcome.status", "must be set to a known OUTCOME_STATUS value");
            }

            if (outcome.LatencyMs is < 0 or > MaxMilliseconds || outcome.TtftMs is < 0 or > MaxMilliseconds
                || outcome.RetryAfterMs is < 0 or > MaxMilliseconds)
            {
                throw Invalid(field + ".outcome", $"latency_ms, ttft_ms and retry_after_ms must be between 0 and {MaxMilliseconds}");
            }

            if (outcome.InputTokens is < 0 or > MaxTokens || outcome.OutputTokens is < 0 or > MaxTokens)
            {
                throw Invalid(field + ".outcome", $"input_tokens and output_tokens must be between 0 and {MaxTokens}");
            }

            if (outcome.Quality is { HasScore: true } q && !(q.Score is >= 0 and <= 1))
            {
                throw Invalid(field + ".outcome.quality.score", "must be in [0, 1]");
            }

            if (outcome.ReturnedModelVersion.Length > 128)
            {
                throw Invalid(field + ".outcome.returned_model_version", "at most 128 characters");
            }

            // A sample from the future or older than a day is placed now (the home region's windows are its own clock).
            var at = forwarded.AtUnixMs > 0 && forwarded.AtUnixMs <= now.ToUnixTimeMilliseconds() && forwarded.AtUnixMs > now.AddDays(-1).ToUnixTimeMilliseconds()
                ? DateTimeOffset.FromUnixTimeMilliseconds(forwarded.AtUnixMs)
                : now;
            var d = entry.Descriptor;
            var sample = new Domain.Health.OutcomeSample
            {
                At = at,
                Status = (Domain.Endpoints.OutcomeStatus)((int)outcome.Status - 1),
                Latency = TimeSpan.FromMilliseconds(outcome.LatencyMs),
                TimeToFirstToken = TimeSpan.FromMilliseconds(outcome.TtftMs),
                InputTokens = (int)outcome.InputTokens,
                OutputTokens = (int)outcome.OutputTokens,
                Cost = (double)((d.PricePer1kInput * outcome.InputTokens) + (d.PricePer1kOutput * outcome.OutputTokens)) / 1000.0,
                Quality = outcome.Quality?.Verdict switch
                {
                    QualityVerdict.Pass => Domain.Endpoints.QualityVerdict.Pass,
                    QualityVerdict.Fail => Domain.Endpoints.QualityVerdict.Fail,
                    _ => Domain.Endpoints.QualityVerdict.None,
                },
                QualityScore = outcome.Quality is { HasScore: true } scored ? scored.Score : null,
                RetryAfter = outcome.RetryAfterMs > 0 ? TimeSpan.FromMilliseconds(outcome.RetryAfterMs) : null,
            };
            var changed = Catalog.ReturnedModelVersion.Changed(outcome.ReturnedModelVersion, d.ModelVersion);
            if (!byEndpoint.TryGetValue(entry.Id, out var list))
            {
                byEndpoint[entry.Id] = list = [];
            }

            list.Add(new OutcomeRecord(entry.Id, outcome.WorkloadClass, sample, forwarded.Fallback, forwarded.DecisionKey, forwarded.RequestKey,
                Math.Clamp(outcome.Attempt, 0, 1000)) { ReturnedModelVersion = changed, WorkflowVerdict = outcome.WorkflowVerdict });
        }

        // Counted once per (origin region, batch id, endpoint): a retried batch is acknowledged without counting again.
        await Task.WhenAll(byEndpoint.Select(e => grains.GetGrain<IProviderEndpointGrain>(e.Key)
            .RecordOutcomesAsync(new OutcomeBatch($"region:{request.Region}", $"{request.BatchId}/{e.Key}", e.Value))));
        return new ForwardOutcomesReply { Accepted = request.Outcomes.Count };
    }

    private void RequireEnabled()
    {
        if (!Options.Enabled)
        {
            throw new RpcException(new Status(StatusCode.FailedPrecondition, "federation is off on this cluster (no --region)"));
        }
    }

    // A change forwarded from a peer region: its origin, its idempotency id and its place in the origin's order.
    private void RequireForwarded(string originRegion, string requestId, long sequence)
    {
        RequirePeer(originRegion, "origin_region");
        if (string.IsNullOrEmpty(requestId) || requestId.Length > MaxIdLength)
        {
            throw Invalid("request_id", $"is required, at most {MaxIdLength} characters");
        }

        if (sequence <= 0)
        {
            throw Invalid("sequence", "must be positive");
        }
    }

    // Who made a forwarded change and why, as its audit entry records them.
    private static void RequireActorAndReason(string actor, string reason)
    {
        if (string.IsNullOrWhiteSpace(actor) || actor.Length > MaxIdLength)
        {
            throw Invalid("actor", $"is required, at most {MaxIdLength} characters");
        }

        if (string.IsNullOrWhiteSpace(reason) || reason.Length > MaxReasonLength)
        {
            throw Invalid("reason", $"is required, at most {MaxReasonLength} characters");
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
