using ControlPlane.Domain.Quotas;
using Microsoft.Extensions.Time.Testing;

namespace ControlPlane.Domain.Tests.Quotas;

/// <summary>FairShareQuota's rule per lease slice: a level spends its weighted part of the slice, and borrows beyond it
/// only while the parts of every higher priority level stay in the slice.</summary>
public sealed class PrioritySharesTests
{
    private static readonly TokenReservation One = new(0, 0, 1);

    private readonly FakeTimeProvider _time = new();
    private readonly LeaseOptions _options = new();

    // chat: interactive, weight 4; batch: batch, weight 1 -> 80 % / 20 % of every slice.
    private static readonly PriorityShares Shares = PriorityShares.For(
        [new ClassShare("chat", 4, WorkloadPriority.Interactive), new ClassShare("batch", 1, WorkloadPriority.Batch)])!;

    private LeaseWallet WalletWith(long requests)
    {
        var ledger = new QuotaLeaseLedger(new RateQuota(QuotaLimits.PerMinute(0, 600), _time), _options, _time);
        Assert.True(ledger.TryGrant("node-a", 0, requests, out var lease));
        var wallet = new LeaseWallet(_options, _time);
        wallet.Accept(lease);
        return wallet;
    }

    [Fact]
    public void Classes_of_one_priority_reserve_nothing()
    {
        Assert.Null(PriorityShares.For([new ClassShare("a", 4, WorkloadPriority.Batch), new ClassShare("b", 1, WorkloadPriority.Batch)]));
        Assert.Equal(0.8, Shares.FractionOf(WorkloadPriority.Interactive), 9);
        Assert.Equal(0.2, Shares.FractionOf(WorkloadPriority.Batch), 9);
    }

    [Fact]
    public void Batch_spends_its_part_and_no_more_while_the_interactive_part_is_kept()
    {
        var wallet = WalletWith(10);
        Assert.True(wallet.TrySpend(One, out _, WorkloadPriority.Batch, Shares));
        Assert.True(wallet.TrySpend(One, out _, WorkloadPriority.Batch, Shares));
        Assert.False(wallet.NeedsRenewal());

        // The third batch request would eat into chat's 8: refused, and the slice asks to be renewed (a fresh part).
        Assert.False(wallet.TrySpend(One, out _, WorkloadPriority.Batch, Shares));
        Assert.True(wallet.NeedsRenewal());

        // Chat gets all of its part, and may borrow what batch left.
        for (var i = 0; i < 8; i++)
        {
            Assert.True(wallet.TrySpend(One, out _, WorkloadPriority.Interactive, Shares));
        }

        Assert.False(wallet.TrySpend(One, out _, WorkloadPriority.Interactive, Shares));
    }

    [Fact]
    public void Interactive_may_take_the_whole_slice_and_batch_then_gets_nothing_from_it()
    {
        var wallet = WalletWith(10);
        for (var i = 0; i < 9; i++)
        {
            Assert.True(wallet.TrySpend(One, out _, WorkloadPriority.Interactive, Shares));
        }

        // Batch's own part (2) is still its own: one request is left and it fits within batch's part.
        Assert.True(wallet.TrySpend(One, out _, WorkloadPriority.Batch, Shares));
        Assert.False(wallet.CanSpend(One, _time.GetUtcNow(), WorkloadPriority.Batch, Shares));
    }
}
