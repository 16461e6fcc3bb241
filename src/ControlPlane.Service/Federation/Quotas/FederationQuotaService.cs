using ControlPlane.Contracts.V1;
using ControlPlane.Domain.Quotas;
using ControlPlane.Service.Security;
using Grpc.Core;
using Microsoft.Extensions.Options;

namespace ControlPlane.Service.Federation.Quotas;

/// <summary>The <c>FederationQuota</c> gRPC service (<c>protos/controlplane/v1/federation_quota.proto</c>): a peer region
/// asks this region, the endpoint's home, for region leases. Role <c>federation</c>. Every field is checked before anything
/// is sized from it; a bad one is INVALID_ARGUMENT naming it and changes nothing.</summary>
internal sealed class FederationQuotaService(IGrainFactory grains, FleetCatalog catalog, IOptions<FederationOptions> federation)
    : FederationQuota.FederationQuotaBase
{
    /// <summary>Longest request id accepted.</summary>
    public const int MaxRequestIdLength = 128;

    /// <summary>Largest stated demand accepted in either dimension (far above any provider limit).</summary>
    public const long MaxDemand = 1_000_000_000_000;

    [RequireRoles(Roles.Federation)]
    public override async Task<RegionLeaseGrant> GrantRegionLease(RegionLeaseRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        var limits = CheckEndpoint(request.EndpointId, request.Region);
        if (request.RequestId.Length is 0 or > MaxRequestIdLength)
        {
            throw Invalid("request_id", $"must be 1 to {MaxRequestIdLength} characters");
        }

        if (request.Tokens is < 0 or > MaxDemand)
        {
            throw Invalid("tokens", $"must be between 0 and {MaxDemand}");
        }

        if (request.Requests is < 0 or > MaxDemand)
        {
            throw Invalid("requests", $"must be between 0 and {MaxDemand}");
        }

        if (request.HeldLeaseId < 0)
        {
            throw Invalid("held_lease_id", "must not be negative");
        }

        RegionLease? lease;
        try
        {
            lease = await grains.GetGrain<IRegionQuotaGrain>(request.EndpointId).GrantRegionLeaseAsync(
                new RegionLeaseAsk(request.EndpointId, request.Region, request.RequestId, request.Tokens, request.Requests, request.HeldLeaseId));
        }
        catch (ArgumentException error)
        {
            throw Invalid("held_lease_id", error.Message);
        }

        var reply = new RegionLeaseGrant
        {
            TokensPerMinute = limits.TokensPerPeriod,
            RequestsPerMinute = limits.RequestsPerPeriod,
            PartitionShare = ShareOf(request.Region),
        };
        if (lease is { } granted)
        {
            reply.LeaseId = granted.Id;
            reply.Tokens = granted.Tokens;
            reply.Requests = granted.Requests;
            reply.GrantedAtUnixMs = granted.GrantedAt.ToUnixTimeMilliseconds();
            reply.ExpiresAtUnixMs = granted.ExpiresAt.ToUnixTimeMilliseconds();
        }

        return reply;
    }

    [RequireRoles(Roles.Federation)]
    public override async Task<RegionLeaseSettleAck> SettleRegionLease(RegionLeaseSettlement request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        CheckEndpoint(request.EndpointId, request.Region);
        if (request.LeaseId <= 0)
        {
            throw Invalid("lease_id", "must be positive");
        }

        if (request.UnusedTokens < 0 || request.UnusedRequests < 0)
        {
            throw Invalid(request.UnusedTokens < 0 ? "unused_tokens" : "unused_requests", "must not be negative");
        }

        if (request.CarriedTokens is < -MaxDemand or > MaxDemand)
        {
            throw Invalid("carried_tokens", $"must be between -{MaxDemand} and {MaxDemand}");
        }

        try
        {
            bool returned = await grains.GetGrain<IRegionQuotaGrain>(request.EndpointId).SettleRegionLeaseAsync(request.Region,
                new RegionLeaseReturn(request.LeaseId, request.UnusedTokens, request.UnusedRequests, request.CarriedTokens));
            return new RegionLeaseSettleAck { Returned = returned };
        }
        catch (ArgumentException error)
        {
            throw Invalid("lease_id", error.Message);
        }
    }

    // The endpoint must exist and be homed here; the region must be another fleet region.
    private QuotaLimits CheckEndpoint(string endpointId, string region)
    {
        var own = federation.Value.Region;
        if (own is null)
        {
            throw new RpcException(new Status(StatusCode.FailedPrecondition, "federation is off in this region"));
        }

        if (endpointId.Length is 0 or > 256 || !catalog.Endpoints.TryGetValue(endpointId, out var entry))
        {
            throw Invalid("endpoint_id", "names no endpoint of the fleet");
        }

        if (region.Length is 0 or > 64 || catalog.Fleet.Regions.Find(region) is null || string.Equals(region, own, StringComparison.Ordinal))
        {
            throw Invalid("region", "must name another region of the fleet");
        }

        if (!string.Equals(entry.Descriptor.Region, own, StringComparison.Ordinal))
        {
            throw new RpcException(new Status(StatusCode.FailedPrecondition, $"endpoint_id: '{endpointId}' is homed in '{entry.Descriptor.Region}', not here ('{own}')"));
        }

        return QuotaLimits.PerMinute(entry.Descriptor.TokensPerMinute, entry.Descriptor.RequestsPerMinute);
    }

    private double ShareOf(string region) =>
        catalog.Fleet.Regions.Find(region)?.EffectivePartitionShare(catalog.Fleet.Regions.All.Length) ?? PartitionShare.Default(1);

    private static RpcException Invalid(string field, string message) =>
        new(new Status(StatusCode.InvalidArgument, $"{field}: {message}"));
}
