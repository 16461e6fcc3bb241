using ControlPlane.Domain.Quotas;
using Microsoft.Extensions.Time.Testing;

namespace ControlPlane.Domain.Tests.Quotas;

public sealed class FairShareQuotaTests
{
    private readonly FakeTimeProvider _time = new();

    // 10,000 tokens/min shared 3:1 between an interactive and a batch class: 7,500 and 2,500 guaranteed.
    private FairShareQuota Create() => new(
        QuotaLimits.PerMinute(10_000, 1_000),
        [new ClassShare("chat", 3, WorkloadPriority.Interactive), new ClassShare("evals", 1, WorkloadPriority.Batch)],
        _time);

    private static TokenReservation Tokens(long n) => new(n, 0, 1);

    [Fact]
    public void Shares_are_proportional_to_weights()
    {
        var quota = Create();

        Assert.Equal(7_500, quota.ShareOf(quota.IndexOf("chat")).AvailableTokens);
        Assert.Equal(2_500, quota.ShareOf(quota.IndexOf("evals")).AvailableTokens);
        Assert.Equal(-1, quota.IndexOf("unknown"));
    }

    [Fact]
    public void Batch_cannot_borrow_into_interactive_unused_share()
    {
        var quota = Create();
        int batch = quota.IndexOf("evals");

        Assert.True(quota.TryReserve(batch, Tokens(2_500)));
        Assert.False(quota.TryReserve(batch, Tokens(1)));
        Assert.Equal(7_500, quota.Endpoint.AvailableTokens);
    }

    [Fact]
    public void Interactive_borrows_batch_idle_share_under_contention()
    {
        var quota = Create();
        int chat = quota.IndexOf("chat");
        int batch = quota.IndexOf("evals");

        Assert.True(quota.TryReserve(chat, Tokens(7_500)));
        Assert.True(quota.TryReserve(chat, Tokens(2_000)));

        Assert.True(quota.ShareOf(chat).Tokens!.Level < 0); // carries the borrowed 2,000 as debt
        Assert.True(quota.TryReserve(batch, Tokens(500)));
        Assert.False(quota.TryReserve(batch, Tokens(1))); // the endpoint itself is now empty
    }

    [Fact]
    public void Batch_may_borrow_only_what_exceeds_interactive_unused_share()
    {
        var quota = Create();
        int chat = quota.IndexOf("chat");
        int batch = quota.IndexOf("evals");
        Assert.True(quota.TryReserve(chat, Tokens(7_500)));
        Assert.True(quota.TryReserve(chat, Tokens(2_000))); // chat share -2,000, endpoint 500

        _time.Advance(TimeSpan.FromSeconds(30)); // endpoint +5,000 = 5,500; chat share +3,750 = 1,750
        Assert.Equal(1_750, quota.ShareOf(chat).AvailableTokens);
        Assert.True(quota.TryReserve(batch, Tokens(2_500))); // its own share: endpoint 3,000

        Assert.True(quota.TryReserve(batch, Tokens(1_000))); // leaves 2,000 >= chat's 1,750
        Assert.False(quota.TryReserve(batch, Tokens(300))); // would leave 1,700 < 1,750
        Assert.True(quota.TryReserve(batch, Tokens(250))); // leaves exactly 1,750
        Assert.True(quota.TryReserve(chat, Tokens(1_750)));
    }

    [Fact]
    public void Release_returns_to_both_endpoint_and_share()
    {
        var quota = Create();
        int batch = quota.IndexOf("evals");
        Assert.True(quota.TryReserve(batch, Tokens(2_000)));

        quota.Release(batch, Tokens(2_000));

        Assert.Equal(10_000, quota.Endpoint.AvailableTokens);
        Assert.Equal(2_500, quota.ShareOf(batch).AvailableTokens);
    }

    [Fact]
    public void Class_policies_supply_their_weight_and_priority()
    {
        var chat = new Domain.Policy.WorkloadClassPolicy { Name = "chat", Primary = ["e"], Weight = 4, Priority = WorkloadPriority.Interactive };
        var batch = new Domain.Policy.WorkloadClassPolicy { Name = "batch", Primary = ["e"], Priority = WorkloadPriority.Batch };

        var quota = new FairShareQuota(QuotaLimits.PerMinute(1_000, 100), [chat.ToShare(), batch.ToShare()], _time);

        Assert.Equal(800, quota.ShareOf(quota.IndexOf("chat")).AvailableTokens);
        Assert.Equal(200, quota.ShareOf(quota.IndexOf("batch")).AvailableTokens);
        Assert.False(quota.TryReserve(quota.IndexOf("batch"), new TokenReservation(201, 0, 1)));
    }

    [Fact]
    public void Rejects_bad_shares_naming_the_field()
    {
        var limits = QuotaLimits.PerMinute(100, 10);
        var e = Assert.Throws<ArgumentException>(() => new FairShareQuota(limits, [new ClassShare("a", 0, WorkloadPriority.Batch)], _time));
        Assert.StartsWith("classes[0].weight", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ArgumentException>(() => new FairShareQuota(limits, [new ClassShare("a", 1, WorkloadPriority.Batch), new ClassShare("a", 1, WorkloadPriority.Batch)], _time));
        Assert.StartsWith("classes[1].className", e.Message, StringComparison.Ordinal);
    }
}
