namespace ControlPlane.Service.Grains;

/// <summary>A node asks an endpoint grain for one half-open probe permit.</summary>
/// <param name="NodeId">The node that will send the probe.</param>
/// <param name="RequestId">Unique per ask; a retry of the same ask (after a lost answer) reuses it and gets the same answer.</param>
[Immutable]
public sealed record ProbeRequest(string NodeId, string RequestId);

/// <summary>The endpoint grain's memory of the last probe answer it gave each node, so a retried ask is answered as before
/// instead of taking a second permit. Kept in memory only: an ask retried on a new activation may take a fresh permit,
/// which the persisted probe count still bounds (the lost one is reclaimed after the probe timeout).</summary>
internal sealed class ProbePermits
{
    private const int MaxNodes = 1_024;
    private readonly Dictionary<string, (string RequestId, bool Granted)> _last = new(StringComparer.Ordinal);

    /// <summary>True (with the answer) when <paramref name="request"/> was answered before.</summary>
    public bool TryReplay(ProbeRequest request, out bool granted)
    {
        if (_last.TryGetValue(request.NodeId, out var last) && string.Equals(last.RequestId, request.RequestId, StringComparison.Ordinal))
        {
            granted = last.Granted;
            return true;
        }

        granted = false;
        return false;
    }

    /// <summary>Remembers the answer to <paramref name="request"/> (one per node; bounded).</summary>
    public void Remember(ProbeRequest request, bool granted)
    {
        if (_last.Count >= MaxNodes && !_last.ContainsKey(request.NodeId))
        {
            _last.Clear();
        }

        _last[request.NodeId] = (request.RequestId, granted);
    }
}
