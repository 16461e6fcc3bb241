using System.Runtime.CompilerServices;
using ControlPlane.Domain.Quotas;

namespace ControlPlane.Service.DataPlane;

/// <summary>
/// The quota tickets of a node's decisions that are not reported yet, so an outcome can reconcile its
/// reservation to the tokens actually used. A ring over decision numbers: the most recent <see cref="Capacity"/>
/// decisions are kept, and a decision that many numbers older is dropped (its reservation stays charged at its
/// estimate). Slots are structs in pages allocated as numbers reach them: no allocation per decision, nothing
/// for the GC to trace, and an idle node stays small. Not thread-safe: callers hold the node's quota lock,
/// which admission and reconciliation take anyway.
/// </summary>
internal sealed class PendingDecisions
{
    /// <summary>Slots per page: 64-byte slots keep a page below the large object heap threshold.</summary>
    internal const int PageSize = 1024;

    private readonly Slot[]?[] _pages;

    /// <summary>Creates an empty ring holding at least <paramref name="capacity"/> decisions.</summary>
    public PendingDecisions(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _pages = new Slot[]?[(capacity + PageSize - 1) / PageSize];
        Capacity = _pages.Length * PageSize;
    }

    /// <summary>Decisions kept at most (the requested capacity rounded up to whole pages).</summary>
    public int Capacity { get; }

    /// <summary>Decisions currently tracked.</summary>
    public int Count { get; private set; }

    /// <summary>Pages, for a sweep that releases the caller's lock between pages.</summary>
    public int PageCount => _pages.Length;

    /// <summary>Tracks decision <paramref name="number"/> (positive, unique). True when it displaced a decision
    /// <see cref="Capacity"/> numbers older that was never reported.</summary>
    public bool Add(long number, in QuotaTicket ticket, long madeAtTicks)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(number, 1);
        ref var slot = ref SlotOf(number, allocate: true);
        var displaced = slot.Number != 0;
        if (!displaced)
        {
            Count++;
        }

        slot = new Slot(number, madeAtTicks, ticket);
        return displaced;
    }

    /// <summary>Stops tracking decision <paramref name="number"/>; false when it is unknown, already reported,
    /// swept or displaced.</summary>
    public bool TryRemove(long number, out QuotaTicket ticket)
    {
        if (number > 0)
        {
            ref var slot = ref SlotOf(number, allocate: false);
            if (!Unsafe.IsNullRef(ref slot) && slot.Number == number)
            {
                ticket = slot.Ticket;
                slot = default;
                Count--;
                return true;
            }
        }

        ticket = default;
        return false;
    }

    /// <summary>When decision <paramref name="number"/> is pending: when it was made and its endpoint.</summary>
    public bool TryGetMadeAt(long number, out long madeAtTicks, out int endpointIndex)
    {
        if (number > 0)
        {
            ref var slot = ref SlotOf(number, allocate: false);
            if (!Unsafe.IsNullRef(ref slot) && slot.Number == number)
            {
                (madeAtTicks, endpointIndex) = (slot.MadeAtTicks, slot.Ticket.EndpointIndex);
                return true;
            }
        }

        (madeAtTicks, endpointIndex) = (0, -1);
        return false;
    }

    /// <summary>Stops tracking the decisions of page <paramref name="page"/> made before <paramref name="cutoffTicks"/>;
    /// returns how many.</summary>
    public int RemoveMadeBefore(int page, long cutoffTicks)
    {
        var slots = _pages[page];
        if (slots is null)
        {
            return 0;
        }

        var removed = 0;
        for (var i = 0; i < slots.Length; i++)
        {
            if (slots[i].Number != 0 && slots[i].MadeAtTicks < cutoffTicks)
            {
                slots[i] = default;
                removed++;
            }
        }

        Count -= removed;
        return removed;
    }

    private ref Slot SlotOf(long number, bool allocate)
    {
        var index = (int)((number - 1) % Capacity);
        ref var page = ref _pages[index / PageSize];
        if (page is null)
        {
            if (!allocate)
            {
                return ref Unsafe.NullRef<Slot>();
            }

            page = new Slot[PageSize];
        }

        return ref page[index % PageSize];
    }

    private readonly record struct Slot(long Number, long MadeAtTicks, QuotaTicket Ticket);
}
