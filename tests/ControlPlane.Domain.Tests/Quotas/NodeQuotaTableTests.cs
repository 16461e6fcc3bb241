using ControlPlane.Domain.Quotas;
using Microsoft.Extensions.Time.Testing;

namespace ControlPlane.Domain.Tests.Quotas;

public sealed class NodeQuotaTableTests
{
    private readonly FakeTimeProvider _time = new();
    private readonly LeaseOptions _options = new();

    private LeaseWallet WalletWith(long tokens, long requests)
    {
        var ledger = new QuotaLeaseLedger(new RateQuota(QuotaLimits.PerMinute(1_000_000, 10_000), _time), _options, _time);
        Assert.True(ledger.TryGrant("node-a", tokens, requests, out var lease));
        var wallet = new LeaseWallet(_options, _time);
        wallet.Accept(lease);
        return wallet;
    }

    [Fact]
    public void Admits_only_when_both_endpoint_and_class_wallets_can_pay()
    {
        var table = new NodeQuotaTable(endpointCount: 2, classCount: 1);
        var endpoint = WalletWith(10_000, 10);
        var budget = WalletWith(2_000, 10);
        table.SetEndpointWallet(0, endpoint);
        table.SetClassWallet(0, budget);
        var r = TokenReservation.ForRequest(1_000, 1_500);

        Assert.False(table.CanAdmit(0, 0, r, _time.GetUtcNow()));
        Assert.False(table.TryAdmit(0, 0, r, out _));
        Assert.Equal(10_000, endpoint.TokensLeft); // the endpoint spend was undone
        Assert.Equal(10, endpoint.RequestsLeft);

        Assert.False(table.CanAdmit(0, 1, r, _time.GetUtcNow())); // class budget still too small
        var small = TokenReservation.ForRequest(500, 500);
        Assert.True(table.TryAdmit(0, 0, small, out var ticket));
        Assert.Equal(9_000, endpoint.TokensLeft);
        Assert.Equal(1_000, budget.TokensLeft);

        table.Reconcile(ticket, actualTokens: 600);
        Assert.Equal(9_400, endpoint.TokensLeft);
        Assert.Equal(1_400, budget.TokensLeft);
    }

    [Fact]
    public void A_slot_without_a_wallet_is_unlimited()
    {
        var table = new NodeQuotaTable(1, 1);

        Assert.True(table.CanAdmit(0, 0, TokenReservation.ForRequest(1_000_000_000, 1), _time.GetUtcNow()));
        Assert.True(table.TryAdmit(0, 0, TokenReservation.ForRequest(1_000_000_000, 1), out var ticket));
        Assert.Equal(0, ticket.EndpointLeaseId);
    }
}
