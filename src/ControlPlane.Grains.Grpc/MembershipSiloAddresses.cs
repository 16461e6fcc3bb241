using ControlPlane.Grains.Placement;

namespace ControlPlane.Grains.Grpc;

/// <summary>Silo addresses from cluster membership: each member publishes the <c>host:port</c> of its gRPC endpoint.</summary>
public sealed class MembershipSiloAddresses(IClusterMembership membership) : ISiloAddressResolver
{
    /// <inheritdoc />
    public ValueTask<Uri?> ResolveAsync(string siloId, CancellationToken cancellationToken) =>
        ValueTask.FromResult(membership.FindMember(siloId) is { } member ? new Uri("http://" + member.Address) : null);
}
