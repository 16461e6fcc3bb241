using ControlPlane.Grpc;
using ControlPlane.Grpc.Server;
using Wire = ControlPlane.Contracts.V1;

namespace ControlPlane.Service.Admin;

/// <summary>The <c>controlplane.v1.Admin</c> gRPC service: the same <see cref="AdminOperations"/> as the HTTP
/// API; the actor comes from the <c>x-actor</c> request metadata.</summary>
internal sealed class AdminGrpcService(AdminOperations operations)
{
    public const string ServiceName = "controlplane.v1.Admin";

    public const string ActorMetadata = "x-actor";

    public GrpcServiceDefinition CreateDefinition() =>
        GrpcServiceDefinition.CreateBuilder(ServiceName, Wire.AdminReflection.Descriptor)
            .AddUnary<Wire.GetFleetRequest, Wire.FleetView>("GetFleet", (_, _) => Run(async () => ToWire(await operations.GetFleetAsync())))
            .AddUnary<Wire.GetEndpointRequest, Wire.EndpointView>("GetEndpoint", (r, _) => Run(async () => ToWire(await operations.GetEndpointAsync(r.Id))))
            .AddUnary<Wire.GetClassRequest, Wire.ClassView>("GetClass", (r, _) => Run(async () => ToWire(await operations.GetClassAsync(r.Name))))
            .AddUnary<Wire.SetBreakerRequest, Wire.EndpointView>("SetBreaker", (r, c) => Run(async () => ToWire(await operations.SetBreakerAsync(
                r.Id, new BreakerCommand(r.State, r.Reason, r.HasTtlSeconds ? r.TtlSeconds : null), Actor(c)))))
            .AddUnary<Wire.DrainRequest, Wire.EndpointView>("Drain", (r, c) => Run(async () => ToWire(await operations.DrainAsync(
                r.Id, new DrainCommand(r.Reason, r.HasTtlSeconds ? r.TtlSeconds : null), Actor(c)))))
            .AddUnary<Wire.DrainRequest, Wire.EndpointView>("Undrain", (r, c) => Run(async () => ToWire(await operations.UndrainAsync(
                r.Id, new DrainCommand(r.Reason, r.HasTtlSeconds ? r.TtlSeconds : null), Actor(c)))))
            .AddUnary<Wire.SetPolicyRequest, Wire.ClassView>("SetPolicy", (r, c) => Run(async () => ToWire(await operations.SetPolicyAsync(
                r.Name, new PolicyCommand(r.HasMode ? r.Mode : null, r.Primary?.Ids,
                r.Fallbacks?.Entries.Select(f => new FallbackView(f.EndpointId, f.HasEvalScore ? f.EvalScore : null)).ToList(), r.Prohibited?.Ids, r.Reason), Actor(c)))))
            .AddUnary<Wire.ListAuditRequest, Wire.AuditList>("ListAudit", (r, _) => Run(async () =>
            {
                var list = new Wire.AuditList();
                foreach (var e in await operations.GetAuditAsync(r.Limit == 0 ? null : r.Limit))
                {
                    list.Entries.Add(new Wire.AuditEntry
                    {
                        Sequence = e.Sequence,
                        AtUnixMs = e.At.ToUnixTimeMilliseconds(),
                        Actor = e.Actor,
                        Action = e.Action,
                        Target = e.Target,
                        Reason = e.Reason,
                        Detail = e.Detail,
                    });
                }

                return list;
            }))
            .Build();

    private static string? Actor(ServerCallContext context) => context.RequestHeaders.Get(ActorMetadata)?.Value;

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
                _ => StatusCode.InvalidArgument,
            };
            // The HTTP API names the header X-Actor; gRPC metadata keys are lower case.
            var detail = error.Field == "X-Actor" ? $"{ActorMetadata}: {error.Detail}" : error.Message;
            throw new RpcException(code, detail);
        }
        catch (ControlPlane.Grains.GrainException error)
        {
            // The grain behind the request is unreachable right now (node starting or stopping, owner moving).
            throw new RpcException(StatusCode.Unavailable, error.Message);
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
