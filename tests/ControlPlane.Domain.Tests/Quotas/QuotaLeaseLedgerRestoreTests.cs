using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using ControlPlane.Domain.Quotas;
using Microsoft.Extensions.Time.Testing;

namespace ControlPlane.Domain.Tests.Quotas;

public sealed class QuotaLeaseLedgerRestoreTests
{
    private static readonly LeaseOptions Options = new() { Duration = TimeSpan.FromSeconds(10) };

    // The grain state serializer's defaults (JsonGrainStateSerializer without options).
    private static readonly JsonSerializerOptions GrainStateJson =
        new(JsonSerializerDefaults.Web) { TypeInfoResolver = new DefaultJsonTypeInfoResolver() };

    private readonly FakeTimeProvider _time = new();

    private QuotaLeaseLedger Ledger(long tokens = 60_000, long requests = 600) =>
        new(new RateQuota(QuotaLimits.PerMinute(tokens, requests), _time), Options, _time);

    private QuotaLeaseLedger Moved(QuotaLedgerSnapshot snapshot, long tokens = 60_000, long requests = 600)
    {
        var ledger = Ledger(tokens, requests);
        ledger.Restore(snapshot);
        return ledger;
    }

    [Fact]
    public void A_restored_ledger_is_the_exported_one_not_a_full_bucket()
    {
        var original = Ledger();
        Assert.True(original.TryGrant("node-a", 10_000, 100, out var a));
        Assert.True(original.TryGrant("node-b", 20_000, 50, out var b));
        Assert.True(original.TryGrant("node-c", 5_000, 10, out var c));
        Assert.True(original.Settle(new LeaseSettlement(c.Id, 1_000, 2, 300)));

        var moved = Moved(original.Export());

        Assert.Equal(60_000 - 30_000 - 4_000 - 300, moved.Quota.AvailableTokens);
        Assert.Equal(original.Quota.AvailableTokens, moved.Quota.AvailableTokens);
        Assert.Equal(original.Quota.AvailableRequests, moved.Quota.AvailableRequests);
        Assert.Equal((30_000, 150), (moved.OutstandingTokens, moved.OutstandingRequests));
        Assert.Equal(original.Quota.TokensCharged, moved.Quota.TokensCharged);
        Assert.Equal([a, b], moved.LiveLeases);
    }

    [Fact]
    public void Refill_covers_the_gap_but_outstanding_leases_stay_carved_out()
    {
        var original = Ledger();
        Assert.True(original.TryGrant("node-a", 40_000, 100, out _));
        Assert.True(original.Quota.TryReserve(new TokenReservation(15_000, 0, 1)));
        var snapshot = original.Export();

        _time.Advance(TimeSpan.FromSeconds(6));
        var moved = Moved(snapshot);

        // 5,000 left, 6 s of refill (6,000) and never past 60,000 - 40,000 held.
        Assert.Equal(11_000, moved.Quota.AvailableTokens);
        _time.Advance(TimeSpan.FromSeconds(9));
        Assert.Equal(20_000, moved.Quota.AvailableTokens);
        _time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(20_000, moved.Quota.AvailableTokens);
        Assert.Equal(40_000, moved.OutstandingTokens);
        Assert.Equal(60_000, moved.Quota.Tokens!.Level + moved.OutstandingTokens);
    }

    [Fact]
    public void A_lease_granted_before_the_move_is_settled_after_it_once()
    {
        var original = Ledger();
        Assert.True(original.TryGrant("node-a", 10_000, 100, out var lease));
        var moved = Moved(original.Export());
        Assert.Equal(50_000, moved.Quota.AvailableTokens);

        Assert.True(moved.Settle(new LeaseSettlement(lease.Id, 7_000, 90, 0)));
        Assert.Equal(57_000, moved.Quota.AvailableTokens);
        Assert.Equal(590, moved.Quota.AvailableRequests);
        Assert.Equal(0, moved.LiveCount);

        // A retried settlement finds no live lease and returns nothing twice.
        Assert.False(moved.Settle(new LeaseSettlement(lease.Id, 7_000, 90, 0)));
        Assert.Equal(57_000, moved.Quota.AvailableTokens);
        Assert.Equal(3_000, moved.Quota.TokensCharged);
    }

    [Fact]
    public void A_restored_lease_is_forfeited_at_its_original_expiry()
    {
        var original = Ledger();
        Assert.True(original.TryGrant("node-a", 60_000, 600, out var lease));
        var moved = Moved(original.Export());

        _time.Advance(TimeSpan.FromSeconds(10) - TimeSpan.FromTicks(1));
        Assert.Equal(0, moved.ExpireDue());
        Assert.Equal(0, moved.Quota.AvailableTokens);

        _time.Advance(TimeSpan.FromTicks(1));
        Assert.Equal(1, moved.ExpireDue());
        Assert.Equal(0, moved.OutstandingTokens);
        Assert.Equal(0, moved.Quota.AvailableTokens);
        Assert.False(moved.Settle(new LeaseSettlement(lease.Id, 60_000, 600, 0)));
        Assert.Equal(0, moved.Quota.AvailableTokens);

        // Forfeited units stay charged; refill resumes from the expiry.
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(1_000, moved.Quota.AvailableTokens);
    }

    [Fact]
    public void Lease_ids_continue_after_the_snapshot_and_are_never_reused()
    {
        var original = Ledger();
        Assert.True(original.TryGrant("node-a", 1_000, 1, out _));
        Assert.True(original.TryGrant("node-a", 1_000, 1, out var second));
        Assert.True(original.Settle(new LeaseSettlement(second.Id, 1_000, 1, 0)));

        // The highest id was settled; the next one still follows it.
        var moved = Moved(original.Export());
        Assert.True(moved.TryGrant("node-b", 1_000, 1, out var next));
        Assert.Equal(second.Id + 1, next.Id);

        // A snapshot whose counter lags its own leases (hand-edited) still never hands out a live id again.
        var lagging = moved.Export() with { NextLeaseId = 1 };
        var again = Moved(lagging);
        Assert.True(again.TryGrant("node-c", 1_000, 1, out var after));
        Assert.Equal(next.Id + 1, after.Id);
    }

    [Fact]
    public void The_snapshot_round_trips_through_the_grain_state_json()
    {
        var original = Ledger();
        Assert.True(original.TryGrant("node-a", 12_345, 67, out _));
        Assert.True(original.TryGrant("node-b", 8_000, 9, out _));
        _time.Advance(TimeSpan.FromTicks(1_234_567));
        var snapshot = original.Export();

        string json = JsonSerializer.Serialize(snapshot, GrainStateJson);
        var parsed = JsonSerializer.Deserialize<QuotaLedgerSnapshot>(json, GrainStateJson)!;

        Assert.Equal(json, JsonSerializer.Serialize(parsed, GrainStateJson));
        Assert.Equal(snapshot.Tokens, parsed.Tokens);
        Assert.Equal(snapshot.Requests, parsed.Requests);
        Assert.Equal(snapshot.Leases, parsed.Leases);
        Assert.Equal(snapshot.NextLeaseId, parsed.NextLeaseId);

        var moved = Moved(parsed);
        _time.Advance(TimeSpan.FromTicks(987_654_321));
        Assert.Equal(original.Quota.Tokens!.Level, moved.Quota.Tokens!.Level);
        Assert.Equal(original.Quota.Requests!.Level, moved.Quota.Requests!.Level);
        Assert.Equal(original.LiveLeases, moved.LiveLeases);
    }

    [Fact]
    public void A_lower_limit_keeps_the_leases_held_and_the_spend_charged()
    {
        var original = Ledger();
        Assert.True(original.TryGrant("node-a", 20_000, 100, out var lease));
        Assert.True(original.Quota.TryReserve(new TokenReservation(10_000, 0, 1)));

        var moved = Moved(original.Export(), tokens: 30_000, requests: 600);

        Assert.Equal(0, moved.Quota.AvailableTokens);
        Assert.Equal(20_000, moved.OutstandingTokens);
        Assert.True(moved.Settle(new LeaseSettlement(lease.Id, 20_000, 100, 0)));
        Assert.Equal(20_000, moved.Quota.AvailableTokens);
        _time.Advance(TimeSpan.FromMinutes(5));
        Assert.Equal(30_000, moved.Quota.AvailableTokens);
    }

    [Fact]
    public void A_newly_limited_dimension_holds_what_unlimited_leases_may_still_spend_until_they_end()
    {
        var original = Ledger(tokens: 60_000, requests: 0);
        Assert.True(original.TryGrant("node-a", 10_000, 1_000_000, out var lease));
        Assert.Null(original.Quota.Requests);

        var moved = Moved(original.Export(), tokens: 60_000, requests: 600);

        Assert.Equal(0, moved.Quota.AvailableRequests);
        Assert.Equal(600, moved.OutstandingRequests);
        Assert.Equal(50_000, moved.Quota.AvailableTokens);

        // The node spent 10 requests of its unlimited slice: they come out of the hold, the rest returns.
        Assert.True(moved.Settle(new LeaseSettlement(lease.Id, 10_000, 1_000_000 - 10, 0)));
        Assert.Equal(590, moved.Quota.AvailableRequests);
        Assert.Equal(60_000, moved.Quota.AvailableTokens);
    }

    [Fact]
    public void A_dimension_that_became_unlimited_is_dropped_and_the_rest_carries_on()
    {
        var original = Ledger();
        Assert.True(original.TryGrant("node-a", 10_000, 600, out var lease));

        var moved = Moved(original.Export(), tokens: 60_000, requests: 0);

        Assert.Equal(long.MaxValue, moved.Quota.AvailableRequests);
        Assert.Equal(50_000, moved.Quota.AvailableTokens);
        Assert.True(moved.Settle(new LeaseSettlement(lease.Id, 4_000, 600, 0)));
        Assert.Equal(54_000, moved.Quota.AvailableTokens);
    }

    [Fact]
    public void A_snapshot_with_duplicate_lease_ids_is_refused_and_the_ledger_is_left_as_it_was()
    {
        var original = Ledger();
        Assert.True(original.TryGrant("node-a", 10_000, 100, out _));
        var snapshot = original.Export();
        var corrupt = snapshot with { Leases = [snapshot.Leases[0], snapshot.Leases[0]] };

        var ledger = Ledger();
        Assert.True(ledger.TryGrant("node-b", 1_000, 1, out var kept));
        Assert.Throws<ArgumentException>(() => ledger.Restore(corrupt));

        Assert.Equal([kept], ledger.LiveLeases);
        Assert.Equal(59_000, ledger.Quota.AvailableTokens);
    }
}
