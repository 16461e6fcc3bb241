namespace ControlPlane.Grains.Grpc;

/// <summary>Maps a silo id to the address of its gRPC endpoint (from cluster membership, where each member
/// registers the address it listens on).</summary>
public interface ISiloAddressResolver
{
    /// <summary>The address of <paramref name="siloId"/>'s gRPC endpoint (e.g. <c>http://10.0.0.7:5100</c>), or null
    /// when the silo is not a live member.</summary>
    ValueTask<Uri?> ResolveAsync(string siloId, CancellationToken cancellationToken);
}
