using System.Text.Json;
using ControlPlane.Domain.Quotas;
using Microsoft.Extensions.Time.Testing;

namespace ControlPlane.Domain.Tests.Quotas;

public sealed class RegionLeaseLedgerTests
{
    private static readonly LeaseOptions NodeOptions = new();
    private static readonly RegionLeaseOptions Options = new() { Duration = TimeSpan.FromSeconds(20), RenewBeforeExpiry = TimeSpan.FromSeconds(12) };

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 6, 12, 0, 0, TimeSpan.Zero));
    private readonly QuotaLeaseLedger _ledger;
    private readonly RegionLeaseLedger _book;

    public RegionLeaseLedgerTests()
    {
        _ledger = new QuotaLeaseLedger(new RateQuota(QuotaLimits.PerMinute(60_000, 600), _time), NodeOptions, _time);
        _book = new RegionLeaseLedger(_ledger, Options, _ => 0.25, _time);
    }

    [Fact]
    public void Region_leases_and_node_leases_are_carved_from_the_same_buckets()
    {
        Assert.True(_ledger.TryGrant("home-node-1", 20_000, 200, out _));

        var lease = _book.Grant("eu-west", "r1", 60_000, 600, heldLeaseId: 0);

        // What is left after the home node's lease, no more.
        Assert.Equal(40_000, lease.Tokens);
        Assert.Equal(400, lease.Requests);
        Assert.Equal(_time.GetUtcNow() + TimeSpan.FromSeconds(20), lease.ExpiresAt);
        Assert.Equal(0, _ledger.Quota.AvailableRequests);
        Assert.False(_ledger.TryGrant("home-node-2", 1, 1, out _));
        Assert.Equal((40_000L, 400L), _book.Outstanding("eu-west"));
    }

    [Fact]
    public void An_exhausted_limit_grants_a_zero_lease_that_still_renews_the_region()
    {
        Assert.True(_ledger.TryGrant("home-node-1", 60_000, 600, out _));

        var lease = _book.Grant("eu-west", "r1", 1_000, 10, 0);

        Assert.Equal(0, lease.Tokens);
        Assert.Equal(0, lease.Requests);
        Assert.True(lease.Id > 0);
    }

    [Fact]
    public void A_retried_grant_gets_the_same_lease_and_holds_nothing_more()
    {
        var first = _book.Grant("eu-west", "r1", 10_000, 100, 0);
        var retry = _book.Grant("eu-west", "r1", 10_000, 100, 0);

        Assert.Equal(first, retry);
        Assert.Equal(500, _ledger.Quota.AvailableRequests);
        Assert.Equal(1, _ledger.LiveCount);
    }

    [Fact]
    public void A_held_lease_never_granted_to_the_region_is_refused()
    {
        var lease = _book.Grant("eu-west", "r1", 10_000, 100, 0);

        Assert.Throws<ArgumentException>(() => _book.Grant("eu-west", "r2", 10_000, 100, lease.Id + 1));
        Assert.Throws<ArgumentException>(() => _book.Grant("ap-south", "r1", 10_000, 100, lease.Id));
    }

    [Fact]
    public void Settling_returns_the_unused_units_once_and_charges_the_carry_once()
    {
        var lease = _book.Grant("eu-west", "r1", 10_000, 100, 0);

        Assert.True(_book.Settle("eu-west", lease.Id, 4_000, 60, 500));
        Assert.False(_book.Settle("eu-west", lease.Id, 4_000, 60, 500));

        // Spent 6,000 + 500 carried, 40 requests.
        Assert.Equal(60_000 - 6_500, _ledger.Quota.AvailableTokens);
        Assert.Equal(600 - 40, _ledger.Quota.AvailableRequests);
        Assert.Equal(0, _ledger.LiveCount);
    }

    [Fact]
    public void A_settlement_after_expiry_returns_nothing_but_its_carry_counts()
    {
        var lease = _book.Grant("eu-west", "r1", 60_000, 600, 0);
        _time.Advance(TimeSpan.FromSeconds(21));
        _book.Sweep();
        long before = _ledger.Quota.Tokens!.NetCharged;

        Assert.False(_book.Settle("eu-west", lease.Id, 60_000, 600, 700));

        Assert.Equal(before + 700, _ledger.Quota.Tokens!.NetCharged);
    }

    [Fact]
    public void A_settlement_by_another_region_or_of_an_unknown_lease_is_refused()
    {
        var lease = _book.Grant("eu-west", "r1", 10_000, 100, 0);
        Assert.True(_ledger.TryGrant("home-node-1", 1_000, 10, out var nodeLease));

        Assert.Throws<ArgumentException>(() => _book.Settle("ap-south", lease.Id, 10_000, 100, 0));
        Assert.Throws<ArgumentException>(() => _book.Settle("eu-west", nodeLease.Id, 1_000, 10, 0));
        Assert.Throws<ArgumentException>(() => _book.Settle("eu-west", 999, 0, 0, 0));
        Assert.Equal(2, _ledger.LiveCount);
    }

    [Fact]
    public void A_region_whose_lease_expired_unrenewed_gets_its_partition_share_reserved_from_the_expiry()
    {
        var lease = _book.Grant("eu-west", "r1", 6_000, 60, 0);
        _time.Advance(TimeSpan.FromSeconds(20));

        Assert.True(_book.Sweep());

        // The share's full capacity (a quarter of 600 RPM) at the expiry, then its refill (150 per minute).
        Assert.Equal((15_000L, 150L), _book.ReserveCharged("eu-west"));
        Assert.Equal(["eu-west"], _book.PartitionedRegions);
        _time.Advance(TimeSpan.FromSeconds(30));
        _book.Sweep();
        Assert.Equal((22_500L, 225L), _book.ReserveCharged("eu-west"));

        // The reserve is charged like spend: the bucket (refilled to full by 40 s) is 75 short of it at 50 s.
        Assert.True(_ledger.TryGrant("home-node-1", 60_000, 600, out var nodeLease));
        Assert.Equal(600 - 75, nodeLease.Requests);
        Assert.Equal(lease.Id + 1, nodeLease.Id);
    }

    [Fact]
    public void A_partitioned_region_stays_reserved_until_it_proves_a_newer_lease_installed()
    {
        var first = _book.Grant("eu-west", "r1", 6_000, 60, 0);
        _time.Advance(TimeSpan.FromSeconds(25));
        _book.Sweep();

        // The link is back: the grant's answer may be lost, so it does not end the reserve...
        var second = _book.Grant("eu-west", "r2", 6_000, 60, first.Id);
        Assert.Equal(["eu-west"], _book.PartitionedRegions);
        _time.Advance(TimeSpan.FromSeconds(6));
        _book.Sweep();
        Assert.Equal((17_750L, 177L), _book.ReserveCharged("eu-west"));

        // ...a call naming it does.
        _book.Grant("eu-west", "r3", 6_000, 60, second.Id);
        Assert.Empty(_book.PartitionedRegions);
        Assert.Equal((0L, 0L), _book.ReserveCharged("eu-west"));
    }

    [Fact]
    public void Regular_renewals_that_prove_each_previous_grant_never_start_a_reserve()
    {
        long held = 0;
        for (int i = 0; i < 30; i++)
        {
            held = _book.Grant("eu-west", $"r{i}", 1_000, 10, held).Id;
            _time.Advance(TimeSpan.FromSeconds(8));
            Assert.False(_book.Sweep() && _book.PartitionedRegions.Any());
            Assert.Empty(_book.PartitionedRegions);
        }
    }

    [Fact]
    public void An_unproved_grant_does_not_move_the_partition_right_on()
    {
        var first = _book.Grant("eu-west", "r1", 1_000, 10, 0);
        _time.Advance(TimeSpan.FromSeconds(8));
        _book.Grant("eu-west", "r2", 1_000, 10, first.Id); // answer lost: the region still holds `first`

        _time.Advance(TimeSpan.FromSeconds(12));
        _book.Sweep();

        // Reserved from the first lease's expiry, the latest instant the region may start spending its share.
        Assert.Equal(["eu-west"], _book.PartitionedRegions);
    }

    [Fact]
    public void The_book_survives_a_move_with_its_reserve_and_its_repeats()
    {
        var lease = _book.Grant("eu-west", "r1", 6_000, 60, 0);
        _time.Advance(TimeSpan.FromSeconds(30));
        _book.Sweep();
        var json = JsonSerializer.Serialize(_book.Export());
        var ledgerJson = JsonSerializer.Serialize(_ledger.Export());

        var ledger = new QuotaLeaseLedger(new RateQuota(QuotaLimits.PerMinute(60_000, 600), _time), NodeOptions, _time);
        ledger.Restore(JsonSerializer.Deserialize<QuotaLedgerSnapshot>(ledgerJson)!);
        var moved = new RegionLeaseLedger(ledger, Options, _ => 0.25, _time);
        moved.Restore(JsonSerializer.Deserialize<RegionLeaseBookSnapshot>(json)!);

        Assert.Equal(_book.ReserveCharged("eu-west"), moved.ReserveCharged("eu-west"));
        Assert.Equal(lease, moved.Grant("eu-west", "r1", 6_000, 60, 0));
        _time.Advance(TimeSpan.FromSeconds(20));
        moved.Sweep();
        // 150 at the expiry, then 150 per minute over 30 s.
        Assert.Equal((15_000L + 7_500L, 150L + 75L), moved.ReserveCharged("eu-west"));
    }

    [Fact]
    public void A_snapshot_that_cannot_come_from_a_book_is_refused_and_changes_nothing()
    {
        _book.Grant("eu-west", "r1", 6_000, 60, 0);
        var before = JsonSerializer.Serialize(_book.Export());
        var bad = new RegionLeaseBookSnapshot([new RegionLeaseEntrySnapshot("x", null, null, [], null, [-1], null, 0, 0, 0)]);

        Assert.Throws<ArgumentException>(() => _book.Restore(bad));
        Assert.Equal(before, JsonSerializer.Serialize(_book.Export()));
    }

    [Fact]
    public void Partition_limits_scale_each_limited_dimension_and_keep_it_limited()
    {
        var limits = PartitionShare.Limits(QuotaLimits.PerMinute(0, 3), 0.25);

        Assert.Equal(0, limits.TokensPerPeriod);
        Assert.Equal(1, limits.RequestsPerPeriod);
        Assert.Equal(0.25, PartitionShare.Default(2));
        Assert.Throws<ArgumentOutOfRangeException>(() => PartitionShare.Limits(limits, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => PartitionShare.Limits(limits, double.NaN));
    }
}
