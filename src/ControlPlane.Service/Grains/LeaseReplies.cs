using ControlPlane.Domain.Quotas;

namespace ControlPlane.Service.Grains;

/// <summary>What makes a lease desk's calls safe to retry (<see cref="QuotaDesk"/>, <see cref="SpendDesk"/>): the last
/// grant per node with its request id (a retried request gets the same lease, not a second one) and the newest lease
/// each node settled (a repeated settlement is ignored). Persisted with the desk's ledger.</summary>
internal sealed class LeaseReplies(Dictionary<string, GrantRecord>? grants, Dictionary<string, long>? settled)
{
    private readonly Dictionary<string, GrantRecord> _grants = new(grants ?? [], StringComparer.Ordinal);
    private readonly Dictionary<string, long> _settled = new(settled ?? [], StringComparer.Ordinal);

    /// <summary>The lease already granted for <paramref name="request"/> (same node, same request id), if any.</summary>
    public bool TryRepeat(LeaseRequest request, out QuotaLease lease)
    {
        if (_grants.TryGetValue(request.NodeId, out var last) && last.RequestId == request.RequestId)
        {
            lease = last.Lease;
            return true;
        }

        lease = default;
        return false;
    }

    /// <summary>Records the lease granted for <paramref name="request"/>.</summary>
    public void Granted(LeaseRequest request, QuotaLease lease) => _grants[request.NodeId] = new GrantRecord(request.RequestId, lease);

    /// <summary>Forgets <paramref name="nodeId"/>'s last grant (it was undone).</summary>
    public void Forget(string nodeId) => _grants.Remove(nodeId);

    /// <summary>False for a settlement already applied (a repeat). Throws <see cref="ArgumentException"/> when the lease
    /// is live and held by another node.</summary>
    public bool IsNew(string nodeId, in LeaseSettlement settlement, IEnumerable<QuotaLease> live, string what)
    {
        foreach (var lease in live)
        {
            if (lease.Id == settlement.LeaseId && !string.Equals(lease.NodeId, nodeId, StringComparison.Ordinal))
            {
                throw new ArgumentException($"{what} {settlement.LeaseId} is held by node '{lease.NodeId}', not '{nodeId}'", nameof(nodeId));
            }
        }

        return !(_settled.TryGetValue(nodeId, out var newest) && settlement.LeaseId <= newest);
    }

    /// <summary>Records that <paramref name="nodeId"/> settled lease <paramref name="leaseId"/>.</summary>
    public void Settled(string nodeId, long leaseId) => _settled[nodeId] = leaseId;

    /// <summary>The last grants, to persist.</summary>
    public Dictionary<string, GrantRecord> ExportGrants() => new(_grants, StringComparer.Ordinal);

    /// <summary>The newest settlements, to persist.</summary>
    public Dictionary<string, long> ExportSettled() => new(_settled, StringComparer.Ordinal);
}
