namespace ControlPlane.Service.Grains;

/// <summary>
/// The grain side of demand-sized leases: what each node recently asked for, was granted and stated as its spend rate
/// (soft state, in memory: a new activation relearns it within one renewal round). When the bucket cannot cover a
/// node's ask together with what other nodes asked for recently and did not get, the bucket's available level is
/// split between them in proportion to their stated demand, so a node draining its slice fast cannot take the refill a
/// waiting node needs; otherwise the ask is granted (up to what the bucket holds, as before).
/// Use it from grain turns only.
/// </summary>
internal sealed class LeaseDemandBook
{
    private readonly Dictionary<string, Entry> _nodes = new(StringComparer.Ordinal);
    private readonly TimeSpan _window;

    /// <summary>Creates a book that remembers an ask for <paramref name="window"/> (the lease duration).</summary>
    public LeaseDemandBook(TimeSpan window) => _window = window;

    /// <summary>Nodes remembered (bounded by the nodes that asked within the window).</summary>
    public int Count => _nodes.Count;

    /// <summary>What to grant <paramref name="request"/>'s node in each dimension given the bucket's available levels
    /// (<see cref="long.MaxValue"/> for an unlimited dimension).</summary>
    public (long Tokens, long Requests) Size(LeaseRequest request, long availableTokens, long availableRequests, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(request);
        Forget(now);
        long tokens = Dimension(request.NodeId, Math.Max(0, request.Tokens), Math.Max(0, request.DemandTokensPerMinute), availableTokens,
            static e => (e.AskTokens - e.GrantedTokens, e.DemandTokens));
        long requests = Dimension(request.NodeId, Math.Max(0, request.Requests), Math.Max(0, request.DemandRequestsPerMinute), availableRequests,
            static e => (e.AskRequests - e.GrantedRequests, e.DemandRequests));
        return (tokens, requests);
    }

    /// <summary>Records what <paramref name="request"/>'s node asked for and got (0 when refused).</summary>
    public void Record(LeaseRequest request, long grantedTokens, long grantedRequests, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(request);
        _nodes[request.NodeId] = new Entry(Math.Max(0, request.Tokens), Math.Max(0, request.Requests), grantedTokens, grantedRequests,
            Math.Max(0, request.DemandTokensPerMinute), Math.Max(0, request.DemandRequestsPerMinute), now);
    }

    private long Dimension(string nodeId, long ask, long demand, long available, Func<Entry, (long Unmet, long Demand)> of)
    {
        if (available == long.MaxValue || ask == 0)
        {
            return ask;
        }

        Int128 unmet = 0;
        Int128 weights = 0;
        foreach (var (node, entry) in _nodes)
        {
            var (missing, rate) = of(entry);
            if (missing > 0 && !string.Equals(node, nodeId, StringComparison.Ordinal))
            {
                unmet += missing;
                weights += rate > 0 ? rate : missing;
            }
        }

        if (unmet == 0 || ask + unmet <= available)
        {
            return ask;
        }

        // Contended: this node's part of what the bucket holds, in proportion to its demand among the waiting nodes.
        Int128 mine = demand > 0 ? demand : ask;
        var share = (long)(available * mine / (mine + weights));
        return Math.Min(ask, Math.Max(1, share));
    }

    private void Forget(DateTimeOffset now)
    {
        List<string>? stale = null;
        foreach (var (node, entry) in _nodes)
        {
            if (now - entry.At > _window)
            {
                (stale ??= []).Add(node);
            }
        }

        foreach (var node in stale ?? [])
        {
            _nodes.Remove(node);
        }
    }

    private sealed record Entry(long AskTokens, long AskRequests, long GrantedTokens, long GrantedRequests, long DemandTokens,
        long DemandRequests, DateTimeOffset At);
}
