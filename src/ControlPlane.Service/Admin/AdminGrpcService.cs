using ControlPlane.Service.Governance;
using ControlPlane.Service.Grains;
using ControlPlane.Service.Security;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Wire = ControlPlane.Contracts.V1;

namespace ControlPlane.Service.Admin;

/// <summary>The <c>controlplane.v1.Admin</c> gRPC service on Grpc.AspNetCore: the same <see cref="AdminOperations"/> as
/// the HTTP API, on the admin port; the actor is the authenticated caller (<see cref="AdminActors"/>).</summary>
internal sealed class AdminGrpcService(AdminOperations operations, Governance.PolicyOperations policies) : Wire.Admin.AdminBase
{
    public const string ServiceName = "controlplane.v1.Admin";

    [RequireRoles(Roles.Viewer)]
    public override Task<Wire.FleetView> GetFleet(Wire.GetFleetRequest request, ServerCallContext context) =>
        Run(async () => ToWire(await operations.GetFleetAsync()));

    [RequireRoles(Roles.Viewer)]
    public override Task<Wire.EndpointView> GetEndpoint(Wire.GetEndpointRequest request, ServerCallContext context) =>
        Run(async () => ToWire(await operations.GetEndpointAsync(request.Id)));

    [RequireRoles(Roles.Viewer)]
    public override Task<Wire.ClassView> GetClass(Wire.GetClassRequest request, ServerCallContext context) =>
        Run(async () => ToWire(await operations.GetClassAsync(request.Name)));

    [RequireRoles(Roles.Operator)]
    public override Task<Wire.EndpointView> SetBreaker(Wire.SetBreakerRequest request, ServerCallContext context) =>
        Run(async () => ToWire(await operations.SetBreakerAsync(request.Id,
            new BreakerCommand(request.State, request.Reason, request.HasTtlSeconds ? request.TtlSeconds : null), AdminActors.FromGrpc(context))));

    [RequireRoles(Roles.Operator)]
    public override Task<Wire.EndpointView> Drain(Wire.DrainRequest request, ServerCallContext context) =>
        Run(async () => ToWire(await operations.DrainAsync(request.Id,
            new DrainCommand(request.Reason, request.HasTtlSeconds ? request.TtlSeconds : null), AdminActors.FromGrpc(context))));

    [RequireRoles(Roles.Operator)]
    public override Task<Wire.EndpointView> Undrain(Wire.DrainRequest request, ServerCallContext context) =>
        Run(async () => ToWire(await operations.UndrainAsync(request.Id,
            new DrainCommand(request.Reason, request.HasTtlSeconds ? request.TtlSeconds : null), AdminActors.FromGrpc(context))));

    [RequireRoles(Roles.PolicyAuthor)]
    public override Task<Wire.ProposalView> ProposePolicy(Wire.PolicyProposeRequest request, ServerCallContext context) =>
        Run(async () => GovernanceWire.ToWire(await policies.ProposeAsync(request.Name, GovernanceWire.FromWire(request), AdminActors.FromGrpc(context))));

    [RequireRoles(Roles.PolicyApprover, Roles.ComplianceApprover)]
    public override Task<Wire.ProposalView> ApproveProposal(Wire.ProposalDecisionRequest request, ServerCallContext context) =>
        Run(async () => GovernanceWire.ToWire(await policies.ApproveAsync(request.Id, request.HasReason ? request.Reason : null, AdminActors.FromGrpc(context))));

    [RequireRoles(Roles.PolicyApprover, Roles.ComplianceApprover)]
    public override Task<Wire.ProposalView> RejectProposal(Wire.ProposalDecisionRequest request, ServerCallContext context) =>
        Run(async () => GovernanceWire.ToWire(await policies.RejectAsync(request.Id, request.HasReason ? request.Reason : null, AdminActors.FromGrpc(context))));

    [RequireRoles(Roles.Viewer, Roles.PolicyAuthor, Roles.PolicyApprover, Roles.ComplianceApprover)]
    public override Task<Wire.ProposalList> ListProposals(Wire.ProposalListRequest request, ServerCallContext context) =>
        Run(async () => GovernanceWire.ToWire(await policies.ListProposalsAsync(request.HasState ? request.State : null,
            request.HasClassName ? request.ClassName : null)));

    [RequireRoles(Roles.PolicyAuthor)]
    public override Task<Wire.ProposalView> RevertPolicy(Wire.PolicyRevertRequest request, ServerCallContext context) =>
        Run(async () => GovernanceWire.ToWire(await policies.RevertAsync(request.Name, request.Reason,
            request.HasEvalRef ? request.EvalRef : null, AdminActors.FromGrpc(context))));

    [RequireRoles(Roles.Operator)]
    public override Task<Wire.BreakGlassView> BreakGlass(Wire.BreakGlassRequest request, ServerCallContext context) =>
        Run(async () => GovernanceWire.ToWire(await policies.BreakGlassAsync(request.Name, new Governance.BreakGlassRequest(request.Mode, request.Reason,
            request.HasTtlSeconds ? request.TtlSeconds : null), AdminActors.FromGrpc(context))));

    [RequireRoles(Roles.Operator)]
    public override Task<Wire.BreakGlassView> ClearBreakGlass(Wire.BreakGlassClearRequest request, ServerCallContext context) =>
        Run(async () => GovernanceWire.ToWire(await policies.ClearBreakGlassAsync(request.Name, request.Reason, AdminActors.FromGrpc(context))));

    [RequireRoles(Roles.Viewer)]
    public override Task<Wire.AuditList> ListAudit(Wire.ListAuditRequest request, ServerCallContext context) => Run(async () =>
    {
        var page = await operations.QueryAuditAsync(new Audit.AuditQuery(
            Limit: request.Limit == 0 ? 100 : request.Limit,
            Before: request.HasBefore ? request.Before : null,
            Since: Audit.AuditQueries.FromUnixMs(request.HasSinceUnixMs ? request.SinceUnixMs : null, "since_unix_ms"),
            Until: Audit.AuditQueries.FromUnixMs(request.HasUntilUnixMs ? request.UntilUnixMs : null, "until_unix_ms"),
            Actor: request.HasActor ? request.Actor : null,
            Target: request.HasTarget ? request.Target : null,
            Action: request.HasAction ? request.Action : null));
        var list = new Wire.AuditList();
        if (page.Next is { } next)
        {
            list.Next = next;
        }

        foreach (var e in page.Entries)
        {
            list.Entries.Add(AuditWire.ToWire(e));
        }

        return list;
    });

    [RequireRoles(Roles.Viewer)]
    public override Task<Wire.CatalogList> GetCatalog(Wire.GetCatalogRequest request, ServerCallContext context) => Run(async () =>
    {
        var catalog = context.GetHttpContext().RequestServices.GetRequiredService<Catalog.CatalogOperations>();
        return request.Id.Length == 0
            ? Catalog.CatalogWire.ToWire(await catalog.GetCatalogAsync())
            : Catalog.CatalogWire.ToWire([await catalog.GetEntryAsync(request.Id)]);
    });

    [RequireRoles(Roles.Viewer)]
    public override Task<Wire.AuditVerification> VerifyAudit(Wire.VerifyAuditRequest request, ServerCallContext context) =>
        Run(async () => AuditWire.ToWire(await operations.VerifyAuditAsync()));

    private static async Task<T> Run<T>(Func<Task<T>> operation)
    {
        try
        {
            return await operation();
        }
        catch (AdminException error)
        {
            var code = error.Kind switch
            {
                AdminErrorKind.NotFound => StatusCode.NotFound,
                AdminErrorKind.Conflict => StatusCode.FailedPrecondition,
                AdminErrorKind.VersionConflict => StatusCode.Aborted,
                AdminErrorKind.Forbidden => StatusCode.PermissionDenied,
                _ => StatusCode.InvalidArgument,
            };
            throw new RpcException(new Status(code, error.Message));
        }
        catch (Exception error) when (GrainCallFailure.IsUnavailable(error))
        {
            // The grain behind the request is unreachable right now (node starting or stopping, owner moving, storage
            // down): nothing was acknowledged, the caller may retry.
            throw new RpcException(new Status(StatusCode.Unavailable, error.Message));
        }
    }

    private static Wire.EndpointView ToWire(EndpointView v)
    {
        var wire = new Wire.EndpointView
        {
            Id = v.Id,
            Provider = v.Provider,
            Model = v.Model,
            ModelVersion = v.ModelVersion,
            Region = v.Region,
            Breaker = new Wire.BreakerView
            {
                State = v.Breaker.State,
                Reason = v.Breaker.Reason,
                AutomaticState = v.Breaker.AutomaticState,
                Degraded = v.Breaker.Degraded,
                TrafficFraction = v.Breaker.TrafficFraction,
                Trips = v.Breaker.Trips,
                OpenUntilUnixMs = v.Breaker.OpenUntil?.ToUnixTimeMilliseconds() ?? 0,
                RateLimitedUntilUnixMs = v.Breaker.RateLimitedUntil?.ToUnixTimeMilliseconds() ?? 0,
            },
            Health = new Wire.HealthFigures
            {
                Requests = v.Health.Requests,
                Successes = v.Health.Successes,
                Failures = v.Health.Failures,
                RateLimited = v.Health.RateLimited,
                ErrorRate = v.Health.ErrorRate,
            },
            Quota = ToWire(v.Quota),
        };
        if (v.Health.LatencyP50Ms is { } p50)
        {
            wire.Health.LatencyP50Ms = p50;
        }

        if (v.Health.LatencyP95Ms is { } p95)
        {
            wire.Health.LatencyP95Ms = p95;
        }

        if (v.Health.LatencyP99Ms is { } p99)
        {
            wire.Health.LatencyP99Ms = p99;
        }

        if (v.Health.QualityPassRate is { } pass)
        {
            wire.Health.QualityPassRate = pass;
        }

        if (v.Override is { } o)
        {
            wire.Override = new Wire.OverrideView
            {
                Kind = o.Kind,
                Actor = o.Actor,
                Reason = o.Reason,
                SetAtUnixMs = o.SetAt.ToUnixTimeMilliseconds(),
                ExpiresAtUnixMs = o.ExpiresAt?.ToUnixTimeMilliseconds() ?? 0,
            };
        }

        wire.Leases.AddRange(v.Leases.Select(ToWire));
        wire.Version = v.Version;
        wire.Host = v.Host;
        return wire;
    }

    private static Wire.QuotaLevels ToWire(Grains.QuotaLevels q)
    {
        var wire = new Wire.QuotaLevels
        {
            TokensPerMinute = q.TokensPerMinute,
            RequestsPerMinute = q.RequestsPerMinute,
            OutstandingTokens = q.OutstandingTokens,
            OutstandingRequests = q.OutstandingRequests,
        };
        if (q.AvailableTokens is { } tokens)
        {
            wire.AvailableTokens = tokens;
        }

        if (q.AvailableRequests is { } requests)
        {
            wire.AvailableRequests = requests;
        }

        return wire;
    }

    private static Wire.LeaseHolder ToWire(Grains.LeaseHolder lease) => new()
    {
        NodeId = lease.NodeId,
        LeaseId = lease.LeaseId,
        Tokens = lease.Tokens,
        Requests = lease.Requests,
        ExpiresAtUnixMs = lease.ExpiresAt.ToUnixTimeMilliseconds(),
    };

    private static Wire.ClassView ToWire(ClassView v)
    {
        var wire = new Wire.ClassView
        {
            Name = v.Name,
            Mode = v.Mode,
            Priority = v.Priority,
            Availability = ToWire(v.Availability),
            Quality = ToWire(v.Quality),
            FallbackRate5M = v.FallbackRate5m,
            Budget = ToWire(v.Budget),
        };
        wire.Primary.AddRange(v.Primary);
        wire.Fallbacks.AddRange(v.Fallbacks.Select(f => f.EndpointId));
        wire.Prohibited.AddRange(v.Prohibited);
        wire.Alerts.AddRange(v.Alerts.Select(a => new Wire.AlertView { Name = a.Name, Severity = a.Severity, Value = a.Value, Threshold = a.Threshold }));
        wire.BudgetLeases.AddRange(v.BudgetLeases.Select(ToWire));
        wire.Version = v.Version;
        wire.Host = v.Host;
        if (v.Latency is { } latency)
        {
            wire.Latency = ToWire(latency);
            wire.LatencyThresholdMs = (long)(v.LatencyThresholdMs ?? 0);
        }

        wire.ServedByFallback = v.ServedByFallback;
        wire.PolicyVersion = v.PolicyVersion;
        wire.BreakGlassId = v.BreakGlass?.Id ?? "";
        return wire;
    }

    private static Wire.ErrorBudgetView ToWire(BudgetView b) =>
        new() { Target = b.Target, Events = b.Events, BadEvents = b.BadEvents, Consumed = b.Consumed, Remaining = b.Remaining };

    private static Wire.FleetView ToWire(FleetView v)
    {
        var wire = new Wire.FleetView { Name = v.Name ?? "", Version = v.Version ?? "", Source = v.Source };
        wire.Deprecations.AddRange(v.Deprecations);
        wire.Endpoints.AddRange(v.Endpoints.Select(ToWire));
        wire.Classes.AddRange(v.Classes.Select(ToWire));
        return wire;
    }
}
