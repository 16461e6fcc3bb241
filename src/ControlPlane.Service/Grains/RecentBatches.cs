namespace ControlPlane.Service.Grains;

/// <summary>The outcome batch ids a grain activation has counted, the newest <see cref="PerNode"/> per node: a batch
/// that arrives again (Orleans resends after a connection failure; a node re-sends a batch whose call failed
/// ambiguously, with the same id) is acknowledged without being counted twice. Kept in memory like the health windows
/// it protects; a new activation starts both afresh.</summary>
internal sealed class RecentBatches
{
    internal const int PerNode = 64;
    private const int MaxNodes = 4096;
    private readonly Dictionary<string, (HashSet<string> Ids, Queue<string> Order)> _nodes = new(StringComparer.Ordinal);

    /// <summary>True the first time a (node, batch id) is seen; false for a repeat.</summary>
    public bool TryAdd(string nodeId, string batchId)
    {
        if (!_nodes.TryGetValue(nodeId, out var seen))
        {
            if (_nodes.Count >= MaxNodes)
            {
                _nodes.Clear();
            }

            seen = (new HashSet<string>(StringComparer.Ordinal), new Queue<string>());
            _nodes[nodeId] = seen;
        }

        if (!seen.Ids.Add(batchId))
        {
            return false;
        }

        seen.Order.Enqueue(batchId);
        if (seen.Order.Count > PerNode)
        {
            seen.Ids.Remove(seen.Order.Dequeue());
        }

        return true;
    }
}
