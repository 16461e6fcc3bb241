using ControlPlane.Contracts.V1;
using ControlPlane.Domain.Quotas;

namespace ControlPlane.Service.Federation.Quotas;

/// <summary>Region lease calls to the home region's <c>FederationQuota</c> service over the federation channel (which
/// carries this region's federation credential).</summary>
internal sealed class GrpcRegionLeaseClient(FederationChannels channels) : IRegionLeaseClient
{
    public async Task<RegionLease?> GrantAsync(string homeRegion, RegionLeaseAsk ask, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ask);
        var client = new FederationQuota.FederationQuotaClient(channels.For(homeRegion));
        var reply = await client.GrantRegionLeaseAsync(new RegionLeaseRequest
        {
            EndpointId = ask.EndpointId,
            Region = ask.Region,
            RequestId = ask.RequestId,
            Tokens = ask.Tokens,
            Requests = ask.Requests,
            HeldLeaseId = ask.HeldLeaseId,
        }, cancellationToken: cancellationToken);
        if (reply.LeaseId <= 0)
        {
            return null;
        }

        return new RegionLease(reply.LeaseId, ask.Region, reply.Tokens, reply.Requests,
            DateTimeOffset.FromUnixTimeMilliseconds(reply.GrantedAtUnixMs), DateTimeOffset.FromUnixTimeMilliseconds(reply.ExpiresAtUnixMs));
    }

    public async Task<bool> SettleAsync(string homeRegion, string endpointId, string region, RegionLeaseReturn settlement, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settlement);
        var client = new FederationQuota.FederationQuotaClient(channels.For(homeRegion));
        var reply = await client.SettleRegionLeaseAsync(new RegionLeaseSettlement
        {
            EndpointId = endpointId,
            Region = region,
            LeaseId = settlement.LeaseId,
            UnusedTokens = settlement.UnusedTokens,
            UnusedRequests = settlement.UnusedRequests,
            CarriedTokens = settlement.CarriedTokens,
        }, cancellationToken: cancellationToken);
        return reply.Returned;
    }
}
