using ControlPlane.Domain.Quotas;
using Microsoft.Extensions.Time.Testing;

namespace ControlPlane.Domain.Tests.Quotas;

public sealed class RegionQuotaPoolTests
{
    private static readonly LeaseOptions NodeOptions = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 6, 12, 0, 0, TimeSpan.Zero));
    private readonly RegionQuotaPool _pool;

    public RegionQuotaPoolTests()
    {
        _pool = new RegionQuotaPool(QuotaLimits.PerMinute(60_000, 600), 0.25, NodeOptions, _time);
    }

    private RegionLease Lease(long id, long tokens, long requests, double seconds = 20) =>
        new(id, "eu-west", tokens, requests, _time.GetUtcNow(), _time.GetUtcNow() + TimeSpan.FromSeconds(seconds));

    [Fact]
    public void Without_a_region_lease_nothing_is_granted_and_there_is_no_partition_right()
    {
        Assert.False(_pool.TryGrant("n1", 100, 1, out _));
        _time.Advance(TimeSpan.FromMinutes(5));
        Assert.False(_pool.TryGrant("n1", 100, 1, out _));
        Assert.False(_pool.Partitioned);
    }

    [Fact]
    public void Node_leases_are_carved_from_the_region_lease_and_never_outlive_it()
    {
        _pool.Install(Lease(7, 10_000, 100, seconds: 15));

        Assert.True(_pool.TryGrant("n1", 6_000, 60, out var a));
        Assert.True(_pool.TryGrant("n2", 6_000, 60, out var b));
        Assert.False(_pool.TryGrant("n3", 6_000, 60, out _));

        Assert.Equal((6_000L, 60L), (a.Tokens, a.Requests));
        Assert.Equal((4_000L, 40L), (b.Tokens, b.Requests));
        Assert.Equal(_time.GetUtcNow() + NodeOptions.Duration, a.ExpiresAt);
        _time.Advance(TimeSpan.FromSeconds(9));
        Assert.True(_pool.Settle("n1", new LeaseSettlement(a.Id, 6_000, 60, 0)));
        Assert.True(_pool.TryGrant("n1", 6_000, 60, out var c));
        Assert.Equal(_pool.Newest!.Value.ExpiresAt, c.ExpiresAt);
    }

    [Fact]
    public void Returned_units_go_back_to_the_region_lease_once()
    {
        _pool.Install(Lease(7, 10_000, 100));
        Assert.True(_pool.TryGrant("n1", 10_000, 100, out var a));

        Assert.True(_pool.Settle("n1", new LeaseSettlement(a.Id, 4_000, 40, 0)));
        Assert.False(_pool.Settle("n1", new LeaseSettlement(a.Id, 4_000, 40, 0)));

        Assert.Equal((4_000L, 40L), _pool.Uncarved);
        Assert.Throws<ArgumentException>(() =>
        {
            Assert.True(_pool.TryGrant("n1", 1_000, 10, out var b));
            _pool.Settle("n2", new LeaseSettlement(b.Id, 0, 0, 0));
        });
    }

    [Fact]
    public void A_superseded_region_lease_is_settled_once_its_node_leases_close_with_the_carry()
    {
        _pool.Install(Lease(7, 10_000, 100));
        Assert.True(_pool.TryGrant("n1", 4_000, 40, out var a));
        _time.Advance(TimeSpan.FromSeconds(8));
        Assert.True(_pool.NeedsRenewal(TimeSpan.FromSeconds(12), 0.25));
        _pool.Install(Lease(9, 10_000, 100));

        Assert.Empty(_pool.DueSettlements());
        _pool.Settle("n1", new LeaseSettlement(a.Id, 1_000, 10, 250));

        var due = Assert.Single(_pool.DueSettlements());
        Assert.Equal(new RegionLeaseReturn(7, 7_000, 70, 250), due);
        _pool.Settled(due);
        Assert.Empty(_pool.DueSettlements());
        Assert.Equal(0, _pool.CarriedTokens);
    }

    [Fact]
    public void After_the_newest_lease_expires_unrenewed_the_pool_spends_its_partition_share()
    {
        _pool.Install(Lease(7, 10_000, 100));
        _time.Advance(TimeSpan.FromSeconds(20));

        // A quarter of 600 RPM, full at the expiry.
        Assert.True(_pool.TryGrant("n1", 60_000, 600, out var a));
        Assert.True(_pool.Partitioned);
        Assert.Equal((15_000L, 150L), (a.Tokens, a.Requests));
        Assert.False(_pool.TryGrant("n2", 1, 1, out _));

        // Then its refill, 150 per minute, from when the node settled (held units are not refilled).
        _time.Advance(TimeSpan.FromSeconds(5));
        Assert.True(_pool.Settle("n1", new LeaseSettlement(a.Id, 0, 0, 0)));
        _time.Advance(TimeSpan.FromSeconds(30));
        Assert.True(_pool.TryGrant("n1", 60_000, 600, out var b));
        Assert.Equal(75, b.Requests);
    }

    [Fact]
    public void A_new_region_lease_ends_the_partition_and_asks_for_a_proving_renewal()
    {
        _pool.Install(Lease(7, 10_000, 100));
        _time.Advance(TimeSpan.FromSeconds(25));
        Assert.True(_pool.TryGrant("n1", 100, 1, out _));
        Assert.True(_pool.Partitioned);

        Assert.True(_pool.Install(Lease(12, 20_000, 200)));

        Assert.False(_pool.Partitioned);
        Assert.True(_pool.NeedsRenewal(TimeSpan.FromSeconds(12), 0.25));
        _pool.ProofSent();
        Assert.False(_pool.NeedsRenewal(TimeSpan.FromSeconds(12), 0.25));
        Assert.True(_pool.TryGrant("n1", 20_000, 200, out var lease));
        Assert.Equal(200, lease.Requests);
        Assert.False(_pool.Install(Lease(11, 1, 1)));
    }
}
