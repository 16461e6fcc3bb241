namespace ControlPlane.Service.Federation;

/// <summary>Elects the one node per cluster that reads a peer region's change feed (key: the peer region). A node holds
/// the link while it renews its claim within the lease; a node that died or left loses it when the lease runs out, and
/// the grain itself re-activates elsewhere when its silo dies (a fresh activation has no leader: the next claim wins).
/// Not persisted: two readers for a moment adopt the same versioned states, which is harmless.</summary>
[Alias("cp.IFederationLinkGrain")]
public interface IFederationLinkGrain : IGrainWithStringKey
{
    /// <summary>Claims or renews the link for <paramref name="nodeId"/>; true when that node holds it now.</summary>
    [Alias("claim")]
    Task<bool> ClaimAsync(string nodeId, TimeSpan lease);
}

[GrainType("federation-link")]
internal sealed class FederationLinkGrain(TimeProvider time) : Grain, IFederationLinkGrain
{
    private string? _leader;
    private DateTimeOffset _expires;

    public Task<bool> ClaimAsync(string nodeId, TimeSpan lease)
    {
        ArgumentException.ThrowIfNullOrEmpty(nodeId);
        var now = time.GetUtcNow();
        if (_leader is null || _leader == nodeId || now >= _expires)
        {
            _leader = nodeId;
            _expires = now + TimeSpan.FromTicks(Math.Clamp(lease.Ticks, TimeSpan.FromSeconds(1).Ticks, TimeSpan.FromMinutes(1).Ticks));
        }

        return Task.FromResult(_leader == nodeId);
    }
}
