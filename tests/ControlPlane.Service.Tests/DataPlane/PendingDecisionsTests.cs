using ControlPlane.Domain.Quotas;
using ControlPlane.Service.DataPlane;

namespace ControlPlane.Service.Tests.DataPlane;

public sealed class PendingDecisionsTests
{
    private static QuotaTicket Ticket(long tokens) => new(0, 1, 7, 0, new TokenReservation(tokens, 0, 1));

    [Fact]
    public void A_tracked_decision_is_removed_once_with_its_ticket()
    {
        var pending = new PendingDecisions(10);
        Assert.False(pending.Add(3, Ticket(300), madeAtTicks: 1));
        Assert.Equal(1, pending.Count);

        Assert.True(pending.TryRemove(3, out var ticket));
        Assert.Equal(Ticket(300), ticket);
        Assert.False(pending.TryRemove(3, out _));
        Assert.Equal(0, pending.Count);
    }

    [Fact]
    public void Unknown_and_non_positive_numbers_are_not_found()
    {
        var pending = new PendingDecisions(10);
        pending.Add(1, Ticket(1), 0);
        Assert.False(pending.TryRemove(2, out _));
        Assert.False(pending.TryRemove(0, out _));
        Assert.False(pending.TryRemove(-1, out _));
        Assert.Throws<ArgumentOutOfRangeException>(() => pending.Add(0, Ticket(1), 0));
        Assert.Equal(1, pending.Count);
    }

    [Fact]
    public void Capacity_is_rounded_up_to_whole_pages_and_the_oldest_decision_is_displaced_past_it()
    {
        var pending = new PendingDecisions(10);
        Assert.Equal(PendingDecisions.PageSize, pending.Capacity);
        for (long n = 1; n <= pending.Capacity; n++)
        {
            Assert.False(pending.Add(n, Ticket(n), 0));
        }

        // Decision Capacity + 1 takes decision 1's slot: 1 is no longer reconcilable, 2 still is.
        Assert.True(pending.Add(pending.Capacity + 1, Ticket(5), 0));
        Assert.Equal(pending.Capacity, pending.Count);
        Assert.False(pending.TryRemove(1, out _));
        Assert.True(pending.TryRemove(2, out var second));
        Assert.Equal(Ticket(2), second);
        Assert.True(pending.TryRemove(pending.Capacity + 1, out var newest));
        Assert.Equal(Ticket(5), newest);
    }

    [Fact]
    public void A_sweep_removes_only_decisions_made_before_the_cutoff()
    {
        var pending = new PendingDecisions(3 * PendingDecisions.PageSize);
        pending.Add(1, Ticket(1), madeAtTicks: 100);
        pending.Add(2, Ticket(2), madeAtTicks: 200);
        pending.Add(PendingDecisions.PageSize + 1, Ticket(3), madeAtTicks: 100);

        var removed = 0;
        for (var page = 0; page < pending.PageCount; page++)
        {
            removed += pending.RemoveMadeBefore(page, cutoffTicks: 150);
        }

        Assert.Equal(2, removed);
        Assert.Equal(1, pending.Count);
        Assert.True(pending.TryRemove(2, out _));
        Assert.False(pending.TryRemove(1, out _));
    }
}
