using ControlPlane.Service.Grains;

namespace ControlPlane.Service.Tests.Grains;

/// <summary>The grain's view of the nodes' demand: an ask is sized as asked (the ledger then grants what the bucket holds)
/// unless other nodes are still waiting for what they asked; then the bucket is split by stated demand.</summary>
public sealed class LeaseDemandBookTests
{
    private static readonly DateTimeOffset Now = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void An_ask_the_bucket_covers_is_granted_as_asked()
    {
        var book = new LeaseDemandBook(TimeSpan.FromSeconds(10));
        book.Record(new LeaseRequest("b", "b1", 0, 30, 0, 300), 0, 10, Now);
        Assert.Equal((0L, 60L), book.Size(new LeaseRequest("a", "a1", 0, 60, 0, 600), long.MaxValue, 100, Now));
    }

    [Fact]
    public void A_contended_bucket_is_split_by_demand_with_the_nodes_still_waiting()
    {
        var book = new LeaseDemandBook(TimeSpan.FromSeconds(10));
        // b asked for 30 and got 10: 20 unmet, at 300 requests a minute.
        book.Record(new LeaseRequest("b", "b1", 0, 30, 0, 300), 0, 10, Now);

        // a (600 a minute) asks for 60 with 30 in the bucket: 30 * 600 / (600 + 300) = 20, not all 30.
        Assert.Equal(20, book.Size(new LeaseRequest("a", "a1", 0, 60, 0, 600), long.MaxValue, 30, Now).Requests);

        // Once b's ask is older than the window it no longer holds anything back (the ledger grants what it holds).
        Assert.Equal(60, book.Size(new LeaseRequest("a", "a2", 0, 60, 0, 600), long.MaxValue, 30, Now.AddSeconds(11)).Requests);
    }

    [Fact]
    public void A_node_is_never_held_back_by_its_own_earlier_ask()
    {
        var book = new LeaseDemandBook(TimeSpan.FromSeconds(10));
        book.Record(new LeaseRequest("a", "a1", 0, 60, 0, 600), 0, 0, Now);
        Assert.Equal(60, book.Size(new LeaseRequest("a", "a2", 0, 60, 0, 600), long.MaxValue, 30, Now).Requests);
    }
}
