using ControlPlane.Domain.Policy;
using ControlPlane.Domain.Quotas;
using ControlPlane.Domain.Routing;

namespace ControlPlane.Domain.Tests.Routing;

/// <summary>The decision function with a class's spend wallet in the quota gate.</summary>
public sealed class SpendGateRoutingTests
{
    private readonly Fleet _fleet = new Fleet().Add("dear-primary").Add("cheap-fallback");

    private (RoutingSnapshot Snapshot, NodeQuotaTable Quota, LeaseWallet Wallet) Setup(decimal usd)
    {
        var snapshot = _fleet.Snapshot(new WorkloadClassPolicy
        {
            Name = "capped",
            Primary = ["dear-primary"],
            Fallbacks = [new FallbackApproval { EndpointId = "cheap-fallback" }],
        });
        var quota = new NodeQuotaTable(snapshot.EndpointCount, snapshot.ClassCount);
        quota.SetEndpointPrice(snapshot.Index("dear-primary"), SpendPrice.FromUsd(0.01m, 0.03m));
        quota.SetEndpointPrice(snapshot.Index("cheap-fallback"), SpendPrice.FromUsd(0.0001m, 0.0004m));
        var options = new LeaseOptions();
        var ledger = new SpendLedger(new SpendCeiling { UsdPerDay = 100 }, options, _fleet.Time);
        Assert.True(ledger.TryGrant("node-a", SpendUnits.FromUsd(usd), out var lease));
        var wallet = new LeaseWallet(options, _fleet.Time);
        wallet.Accept(lease);
        quota.SetSpendWallet(0, wallet);
        return (snapshot, quota, wallet);
    }

    [Fact]
    public void A_primary_the_class_cannot_afford_is_skipped_for_an_affordable_fallback()
    {
        // $0.01 pays a request on the fallback ($0.0003) but not on the primary ($0.025).
        var (snapshot, quota, _) = Setup(0.01m);

        var (chosen, decision, _) = _fleet.Router(quota: quota).Route(snapshot, "capped");

        Assert.Equal(("cheap-fallback", RouteReason.PrimaryRateLimited), (chosen, decision.Reason));
    }

    [Fact]
    public void Deciding_with_a_spend_wallet_allocates_nothing()
    {
        var (snapshot, quota, _) = Setup(50m);
        var router = _fleet.Router(quota: quota);
        var chain = new int[8];
        var request = new RouteRequest { ClassIndex = 0, EstimatedInputTokens = 1_000, MaxOutputTokens = 500 };
        for (var i = 0; i < 100; i++)
        {
            router.Decide(snapshot, request, chain);
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1_000; i++)
        {
            Assert.True(router.Decide(snapshot, request, chain).HasEndpoint);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
