using ControlPlane.Fleet;

namespace ControlPlane.Service.DataPlane;

/// <summary>
/// The node's share of every workload class's cluster-wide retry budget (the fleet's <c>retry_budget</c>), in the
/// manner of Envoy's and Finagle's retry budgets. Each first attempt (Route with <c>attempt</c> 0) deposits into the
/// class's window; a retry (<c>attempt</c> &gt; 0) is admitted only while the node's retries in the window stay within
/// <c>ratio × its first attempts in the window + its share of the floor</c>, the floor being
/// <c>min_per_second × window</c> split evenly over the nodes subscribed to the class grain (learned from the grain's
/// status). Summed over the nodes: retries ≤ ratio × the cluster's first attempts + the floor, over any window.
/// </summary>
/// <remarks>
/// Lock-free and allocation-free: the window is <see cref="Slots"/> slots, each one <see cref="long"/> packing the
/// slot's number (high 32 bits) with its count (low 32 bits), so a deposit is one compare-and-swap and a slot that
/// has aged out is reset by the same swap that counts into it. A retry is admitted by a compare-and-swap on the
/// current slot after the check, so concurrent retries never overshoot the budget.
/// </remarks>
internal sealed class RetryBudgets
{
    /// <summary>Slots per window: a first attempt stops counting between 0.9 and 1 window after it was made.</summary>
    internal const int Slots = 10;

    private readonly ClassBudget[] _classes;
    private readonly TimeProvider _time;

    public RetryBudgets(IReadOnlyList<RetryBudgetTargets> targets, TimeProvider time)
    {
        _time = time;
        _classes = [.. targets.Select(t => new ClassBudget(t, time.TimestampFrequency))];
    }

    /// <summary>Counts a first attempt of the class (its deposit into the retry budget).</summary>
    public void FirstAttempt(int classIndex)
    {
        var budget = _classes[classIndex];
        var slot = budget.Slot(_time.GetTimestamp());
        Increment(ref budget.Firsts[(int)(slot % Slots)], (uint)slot);
    }

    /// <summary>Admits a retry of the class if the node's share of the budget allows it, and counts it.</summary>
    public bool TryRetry(int classIndex)
    {
        var budget = _classes[classIndex];
        var slot = budget.Slot(_time.GetTimestamp());
        var epoch = (uint)slot;
        var index = (int)(slot % Slots);
        var allowed = (budget.Ratio * Sum(budget.Firsts, epoch)) + (budget.FloorPerWindow / Math.Max(1, Volatile.Read(ref budget.Nodes)));
        while (true)
        {
            var current = Volatile.Read(ref budget.Retries[index]);
            long retries = Sum(budget.Retries, epoch, skip: index) + (Epoch(current) == epoch ? Count(current) : 0);
            if (retries + 1 > allowed)
            {
                return false;
            }

            var next = Epoch(current) == epoch ? current + 1 : Pack(epoch, 1);
            if (Interlocked.CompareExchange(ref budget.Retries[index], next, current) == current)
            {
                return true;
            }
        }
    }

    /// <summary>The number of nodes routing the class (the class grain's subscribers), which splits the floor.</summary>
    public void SetNodes(int classIndex, int nodes)
    {
        if ((uint)classIndex < (uint)_classes.Length)
        {
            Volatile.Write(ref _classes[classIndex].Nodes, Math.Max(1, nodes));
        }
    }

    /// <summary>The node count the class's floor is split by.</summary>
    public int NodesOf(int classIndex) => Volatile.Read(ref _classes[classIndex].Nodes);

    private static void Increment(ref long cell, uint epoch)
    {
        while (true)
        {
            var current = Volatile.Read(ref cell);
            var next = Epoch(current) == epoch ? current + 1 : Pack(epoch, 1);
            if (Interlocked.CompareExchange(ref cell, next, current) == current)
            {
                return;
            }
        }
    }

    // Counts of the slots still inside the window ending with slot number epoch.
    private static long Sum(long[] cells, uint epoch, int skip = -1)
    {
        long sum = 0;
        for (var i = 0; i < cells.Length; i++)
        {
            var cell = Volatile.Read(ref cells[i]);
            if (i != skip && unchecked(epoch - Epoch(cell)) < Slots)
            {
                sum += Count(cell);
            }
        }

        return sum;
    }

    private static uint Epoch(long cell) => (uint)((ulong)cell >> 32);

    private static long Count(long cell) => cell & 0xFFFF_FFFF;

    private static long Pack(uint epoch, long count) => (long)(((ulong)epoch << 32) | (ulong)count);

    private sealed class ClassBudget
    {
        public readonly long[] Firsts = new long[Slots];
        public readonly long[] Retries = new long[Slots];
        public readonly double Ratio;
        public readonly double FloorPerWindow;
        public int Nodes = 1;
        private readonly long _slotTicks;

        public ClassBudget(RetryBudgetTargets targets, long frequency)
        {
            Ratio = targets.Ratio;
            FloorPerWindow = targets.MinPerSecond * targets.Window.TotalSeconds;
            _slotTicks = Math.Max(1, (long)(targets.Window.TotalSeconds * frequency / Slots));
            // Slot 0 of epoch 0 would count as current at start-up: mark every slot as long expired.
            var stale = Pack(uint.MaxValue - Slots, 0);
            Array.Fill(Firsts, stale);
            Array.Fill(Retries, stale);
        }

        public long Slot(long timestamp) => timestamp / _slotTicks;
    }
}
