namespace ControlPlane.Service.Grains;

/// <summary>The decisions whose outcome a grain activation has counted, so the same decision reported twice (to the
/// same node or to two nodes) is counted once. Time-windowed and bounded: a decision is remembered for
/// <see cref="Window"/> after its outcome was counted, and at most <see cref="Capacity"/> decisions are remembered
/// (the oldest is forgotten first; at rates above capacity / window the effective window shrinks). Nodes refuse
/// outcomes of decisions older than the same window, so a repeat cannot outlive the memory that catches it, except
/// across a new activation of the grain (memory, like the health windows it protects). Not thread-safe (a grain turn).</summary>
internal sealed class SeenDecisions(TimeSpan window, int capacity = SeenDecisions.DefaultCapacity)
{
    /// <summary>Decisions remembered at most per grain (about 40 bytes each).</summary>
    internal const int DefaultCapacity = 200_000;

    private readonly HashSet<long> _keys = [];
    private readonly Queue<(long Key, DateTimeOffset At)> _order = new();

    /// <summary>How long a counted decision is remembered.</summary>
    public TimeSpan Window { get; } = window;

    /// <summary>Most decisions remembered.</summary>
    public int Capacity { get; } = capacity;

    /// <summary>Decisions remembered now.</summary>
    public int Count => _keys.Count;

    /// <summary>True the first time decision <paramref name="key"/> is seen (count it); false for a repeat. Key 0
    /// (an outcome without a decision) is always new.</summary>
    public bool TryAdd(long key, DateTimeOffset now)
    {
        if (key == 0)
        {
            return true;
        }

        Forget(now, room: 1);
        if (!_keys.Add(key))
        {
            return false;
        }

        _order.Enqueue((key, now));
        return true;
    }

    /// <summary>True when decision <paramref name="key"/> is remembered (without remembering it).</summary>
    public bool Contains(long key, DateTimeOffset now)
    {
        Forget(now, room: 0);
        return _keys.Contains(key);
    }

    private void Forget(DateTimeOffset now, int room)
    {
        while (_order.TryPeek(out var oldest) && (now - oldest.At >= Window || _order.Count + room > Capacity))
        {
            _keys.Remove(_order.Dequeue().Key);
        }
    }
}
