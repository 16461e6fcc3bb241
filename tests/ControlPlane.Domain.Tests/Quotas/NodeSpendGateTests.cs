using ControlPlane.Domain.Quotas;
using Microsoft.Extensions.Time.Testing;

namespace ControlPlane.Domain.Tests.Quotas;

/// <summary>A class's spend wallet in the node's quota table: a request pays its estimated cost at the chosen
/// endpoint's price, reconciled to the actual tokens.</summary>
public sealed class NodeSpendGateTests
{
    private readonly FakeTimeProvider _time = new();
    private readonly LeaseOptions _options = new();

    private LeaseWallet SpendWallet(decimal usd)
    {
        var ledger = new SpendLedger(new SpendCeiling { UsdPerDay = 100 }, _options, _time);
        Assert.True(ledger.TryGrant("node-a", SpendUnits.FromUsd(usd), out var lease));
        var wallet = new LeaseWallet(_options, _time);
        wallet.Accept(lease);
        return wallet;
    }

    private NodeQuotaTable Table()
    {
        var table = new NodeQuotaTable(endpointCount: 2, classCount: 2);
        table.SetEndpointPrice(0, SpendPrice.FromUsd(0.01m, 0.03m)); // dear: 1k in + 500 out = $0.025
        table.SetEndpointPrice(1, SpendPrice.FromUsd(0.001m, 0.002m)); // cheap: $0.002
        return table;
    }

    [Fact]
    public void The_estimate_at_the_endpoints_price_is_the_reservation_and_is_reconciled_to_the_actual_tokens()
    {
        var table = Table();
        var wallet = SpendWallet(0.03m);
        table.SetSpendWallet(0, wallet);
        var r = TokenReservation.ForRequest(1_000, 500);

        Assert.True(table.TryAdmit(0, 0, r, out var ticket));
        Assert.Equal(SpendUnits.FromUsd(0.025m), ticket.SpendNanos);
        Assert.Equal(SpendUnits.FromUsd(0.005m), wallet.TokensLeft);
        Assert.False(table.CanAdmit(0, 0, r, _time.GetUtcNow()));
        Assert.True(table.CanAdmit(0, 1, r, _time.GetUtcNow())); // the cheap endpoint still fits
        Assert.True(table.CanAdmit(1, 0, r, _time.GetUtcNow())); // another class has no ceiling

        // 1,000 in and 100 out actually cost $0.013: the rest of the estimate comes back.
        table.Reconcile(ticket, actualInputTokens: 1_000, actualOutputTokens: 100);
        Assert.Equal(SpendUnits.FromUsd(0.017m), wallet.TokensLeft);
    }

    [Fact]
    public void A_class_with_a_ceiling_but_no_lease_is_refused_and_its_ceiling_is_said_to_be_reached()
    {
        var table = Table();
        table.SetSpendWallet(0, new LeaseWallet(_options, _time));
        var r = TokenReservation.ForRequest(1_000, 500);

        Assert.False(table.CanAdmit(0, 1, r, _time.GetUtcNow()));
        Assert.False(table.TryAdmit(0, 1, r, out _));
        Assert.True(table.SpendCeilingReached(0, [0], [1], r, _time.GetUtcNow(), out var cheapest));
        Assert.Equal(SpendUnits.FromUsd(0.002m), cheapest);
        Assert.False(table.SpendCeilingReached(1, [0], [1], r, _time.GetUtcNow(), out _));

        // Enough for the cheap endpoint only: not reached (the cheapest can pay).
        table.SetSpendWallet(0, SpendWallet(0.01m));
        Assert.False(table.SpendCeilingReached(0, [0], [1], r, _time.GetUtcNow(), out _));
        Assert.True(table.SpendCeilingReached(0, [0], [], r, _time.GetUtcNow(), out _));
    }

    [Fact]
    public void A_refused_spend_undoes_nothing_else_and_a_refused_endpoint_gives_the_money_back()
    {
        var table = Table();
        var spend = SpendWallet(1m);
        table.SetSpendWallet(0, spend);
        var tokens = new LeaseWallet(_options, _time); // the endpoint's TPM wallet, empty: refuses
        table.SetEndpointWallet(0, tokens);
        var r = TokenReservation.ForRequest(1_000, 500);

        Assert.False(table.TryAdmit(0, 0, r, out _));

        Assert.Equal(SpendUnits.FromUsd(1m), spend.TokensLeft);
        Assert.Equal(0, spend.CarriedTokens);
    }
}
