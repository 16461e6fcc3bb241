using ControlPlane.Domain.Quotas;
using Microsoft.Extensions.Time.Testing;

namespace ControlPlane.Domain.Tests.Quotas;

public sealed class QuotaLeaseTests
{
    private static readonly LeaseOptions Options = new()
    {
        Duration = TimeSpan.FromSeconds(10),
        SafetyMargin = TimeSpan.FromMilliseconds(500),
        LowWaterFraction = 0.25,
        RenewBeforeExpiry = TimeSpan.FromSeconds(2),
    };

    private readonly FakeTimeProvider _time = new();
    private readonly QuotaLeaseLedger _ledger;

    public QuotaLeaseTests()
    {
        _ledger = new QuotaLeaseLedger(new RateQuota(QuotaLimits.PerMinute(60_000, 600), _time), Options, _time);
    }

    private LeaseWallet Wallet() => new(Options, _time);

    [Fact]
    public void A_grant_is_carved_out_of_the_bucket()
    {
        Assert.True(_ledger.TryGrant("node-a", 10_000, 100, out var lease));

        Assert.Equal(1, lease.Id);
        Assert.Equal(10_000, lease.Tokens);
        Assert.Equal(_time.GetUtcNow() + TimeSpan.FromSeconds(10), lease.ExpiresAt);
        Assert.Equal(50_000, _ledger.Quota.AvailableTokens);
        Assert.Equal(10_000, _ledger.OutstandingTokens);
        Assert.Equal(100, _ledger.OutstandingRequests);
    }

    [Fact]
    public void A_grant_is_cut_to_what_the_bucket_holds_and_refused_when_it_is_empty()
    {
        Assert.True(_ledger.TryGrant("node-a", 50_000, 100, out _));
        Assert.True(_ledger.TryGrant("node-b", 50_000, 100, out var partial));
        Assert.Equal(10_000, partial.Tokens);

        Assert.False(_ledger.TryGrant("node-c", 1, 1, out _));
    }

    [Fact]
    public void Outstanding_grants_are_not_refilled_so_level_plus_outstanding_stays_within_capacity()
    {
        Assert.True(_ledger.TryGrant("node-a", 40_000, 100, out _));

        _time.Advance(TimeSpan.FromMinutes(5));

        Assert.Equal(20_000, _ledger.Quota.AvailableTokens);
        Assert.Equal(60_000, _ledger.Quota.Tokens!.Level + _ledger.OutstandingTokens);
    }

    [Fact]
    public void The_wallet_spends_locally_and_returns_what_is_unused()
    {
        Assert.True(_ledger.TryGrant("node-a", 10_000, 100, out var lease));
        var wallet = Wallet();
        wallet.Accept(lease);

        Assert.True(wallet.TrySpend(TokenReservation.ForRequest(1_000, 2_000), out long spentFrom));
        Assert.Equal(lease.Id, spentFrom);
        Assert.Equal(7_000, wallet.TokensLeft);
        Assert.Equal(99, wallet.RequestsLeft);
        Assert.False(wallet.TrySpend(TokenReservation.ForRequest(7_001, 0), out _));

        Assert.True(_ledger.Settle(wallet.Settle()));

        Assert.Equal(0, _ledger.LiveCount);
        Assert.Equal(0, _ledger.OutstandingTokens);
        Assert.Equal(57_000, _ledger.Quota.AvailableTokens);
        Assert.Equal(599, _ledger.Quota.AvailableRequests);
        Assert.Equal(0, wallet.TokensLeft);
    }

    [Fact]
    public void Reconcile_within_the_same_lease_adjusts_the_slice()
    {
        Assert.True(_ledger.TryGrant("node-a", 10_000, 100, out var lease));
        var wallet = Wallet();
        wallet.Accept(lease);
        var r = TokenReservation.ForRequest(1_000, 2_000);
        Assert.True(wallet.TrySpend(r, out long id));

        wallet.Reconcile(id, r, actualTokens: 1_200);
        Assert.Equal(8_800, wallet.TokensLeft);

        Assert.True(wallet.TrySpend(r, out id));
        wallet.Reconcile(id, r, actualTokens: 4_000);
        Assert.Equal(4_800, wallet.TokensLeft);

        _ledger.Settle(wallet.Settle());
        Assert.Equal(1_200 + 4_000, _ledger.Quota.TokensCharged);
    }

    [Fact]
    public void An_overrun_beyond_the_slice_is_carried_and_charged_at_settlement()
    {
        Assert.True(_ledger.TryGrant("node-a", 3_000, 10, out var lease));
        var wallet = Wallet();
        wallet.Accept(lease);
        var r = TokenReservation.ForRequest(1_000, 2_000);
        Assert.True(wallet.TrySpend(r, out long id));

        wallet.Reconcile(id, r, actualTokens: 4_500);

        Assert.Equal(0, wallet.TokensLeft);
        Assert.Equal(1_500, wallet.CarriedTokens);
        _ledger.Settle(wallet.Settle());
        Assert.Equal(4_500, _ledger.Quota.TokensCharged);
        Assert.Equal(60_000 - 4_500, _ledger.Quota.AvailableTokens);
    }

    [Fact]
    public void A_refund_for_an_earlier_lease_is_carried_as_credit()
    {
        var wallet = Wallet();
        Assert.True(_ledger.TryGrant("node-a", 10_000, 100, out var first));
        wallet.Accept(first);
        var r = TokenReservation.ForRequest(1_000, 4_000);
        Assert.True(wallet.TrySpend(r, out long oldLease));

        Assert.True(_ledger.TryRenew("node-a", wallet.Settle(), 10_000, 100, out var second));
        wallet.Accept(second);
        wallet.Reconcile(oldLease, r, actualTokens: 2_000);

        Assert.Equal(10_000, wallet.TokensLeft); // the new slice is not inflated by the old refund
        Assert.Equal(-3_000, wallet.CarriedTokens);
        _ledger.Settle(wallet.Settle());
        Assert.Equal(2_000, _ledger.Quota.TokensCharged);
    }

    [Fact]
    public void The_wallet_asks_for_renewal_below_the_low_water_mark()
    {
        Assert.True(_ledger.TryGrant("node-a", 10_000, 100, out var lease));
        var wallet = Wallet();
        Assert.True(wallet.NeedsRenewal()); // no lease at all
        wallet.Accept(lease);
        Assert.False(wallet.NeedsRenewal());

        Assert.True(wallet.TrySpend(new TokenReservation(7_500, 0, 1), out _));
        Assert.False(wallet.NeedsRenewal()); // exactly 25% left
        Assert.True(wallet.TrySpend(new TokenReservation(1, 0, 1), out _));
        Assert.True(wallet.NeedsRenewal());
    }

    [Fact]
    public void The_wallet_asks_for_renewal_near_expiry_and_stops_spending_before_the_ledger_forfeits()
    {
        Assert.True(_ledger.TryGrant("node-a", 10_000, 100, out var lease));
        var wallet = Wallet();
        wallet.Accept(lease);

        _time.Advance(TimeSpan.FromMilliseconds(7_499));
        Assert.False(wallet.NeedsRenewal());
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(wallet.NeedsRenewal()); // 10 s - 0.5 s margin - 2 s renew-before

        _time.Advance(TimeSpan.FromMilliseconds(1_999));
        Assert.True(wallet.TrySpend(new TokenReservation(10, 0, 1), out _));
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.False(wallet.TrySpend(new TokenReservation(10, 0, 1), out _)); // 9.5 s: stopped
        Assert.Equal(0, wallet.TokensLeft);
    }

    [Fact]
    public void An_unreturned_lease_is_forfeited_at_expiry_and_refill_resumes()
    {
        Assert.True(_ledger.TryGrant("node-a", 30_000, 100, out var lease));
        _time.Advance(TimeSpan.FromSeconds(9));
        Assert.Equal(0, _ledger.ExpireDue());

        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(1, _ledger.ExpireDue());
        Assert.Equal(0, _ledger.OutstandingTokens);
        Assert.Equal(30_000, _ledger.Quota.AvailableTokens); // forfeited units stay charged

        // A late return credits nothing, since the node may have spent everything.
        Assert.False(_ledger.Settle(new LeaseSettlement(lease.Id, 30_000, 100, 0)));
        Assert.Equal(30_000, _ledger.Quota.AvailableTokens);

        _time.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal(60_000, _ledger.Quota.AvailableTokens);
    }

    [Fact]
    public void A_node_cannot_return_more_than_it_was_granted()
    {
        Assert.True(_ledger.TryGrant("node-a", 1_000, 10, out var lease));

        _ledger.Settle(new LeaseSettlement(lease.Id, 1_000_000, 1_000, 0));

        Assert.Equal(60_000, _ledger.Quota.AvailableTokens);
        Assert.Equal(600, _ledger.Quota.AvailableRequests);
    }

    [Fact]
    public void Renew_settles_and_grants_a_fresh_lease_in_one_step()
    {
        var wallet = Wallet();
        Assert.True(_ledger.TryGrant("node-a", 10_000, 100, out var first));
        wallet.Accept(first);
        Assert.True(wallet.TrySpend(new TokenReservation(8_000, 0, 1), out _));

        Assert.True(_ledger.TryRenew("node-a", wallet.Settle(), 10_000, 100, out var second));

        Assert.Equal(2, second.Id);
        Assert.Equal(1, _ledger.LiveCount);
        Assert.Equal(10_000, _ledger.OutstandingTokens);
        Assert.Equal(60_000 - 8_000 - 10_000, _ledger.Quota.AvailableTokens);
    }

    [Fact]
    public void Accepting_a_lease_over_an_unsettled_one_is_refused()
    {
        Assert.True(_ledger.TryGrant("node-a", 1_000, 10, out var a));
        Assert.True(_ledger.TryGrant("node-a", 1_000, 10, out var b));
        var wallet = Wallet();
        wallet.Accept(a);

        Assert.Throws<InvalidOperationException>(() => wallet.Accept(b));
    }

    [Theory]
    [InlineData(50, 0, 0.25, 2_000, "duration")]
    [InlineData(10_000, 6_000, 0.25, 2_000, "safetyMargin")]
    [InlineData(10_000, 500, 1.0, 2_000, "lowWaterFraction")]
    [InlineData(10_000, 500, 0.25, 20_000, "renewBeforeExpiry")]
    public void Invalid_lease_options_name_the_field(int durationMs, int marginMs, double lowWater, int renewMs, string field)
    {
        var options = new LeaseOptions
        {
            Duration = TimeSpan.FromMilliseconds(durationMs),
            SafetyMargin = TimeSpan.FromMilliseconds(marginMs),
            LowWaterFraction = lowWater,
            RenewBeforeExpiry = TimeSpan.FromMilliseconds(renewMs),
        };

        var e = Assert.Throws<ArgumentException>(() => options.Validate(TimeSpan.FromMinutes(1)));
        Assert.StartsWith(field + ":", e.Message, StringComparison.Ordinal);
    }
}
