using ControlPlane.Domain.Quotas;
using Microsoft.Extensions.Time.Testing;

namespace ControlPlane.Domain.Tests.Quotas;

public sealed class TokenBucketSnapshotTests
{
    private static readonly TimeSpan Minute = TimeSpan.FromMinutes(1);
    private readonly FakeTimeProvider _time = new();

    [Fact]
    public void A_restored_bucket_refills_to_the_tick_exactly_like_the_exported_one()
    {
        // 7 per minute leaves a division remainder on almost every tick: the restored bucket must carry it.
        var original = new TokenBucket(7, Minute, _time);
        Assert.True(original.TryTake(5));
        Assert.True(original.TryHold(1));
        _time.Advance(TimeSpan.FromSeconds(3.3));

        var restored = new TokenBucket(7, Minute, _time);
        restored.Restore(original.Export());

        Assert.Equal((original.Level, original.Held, original.NetCharged), (restored.Level, restored.Held, restored.NetCharged));
        foreach (var step in new[] { 4_999_999L, 1L, 83_000_001L, 7L, 1_000_000_000L })
        {
            _time.Advance(TimeSpan.FromTicks(step));
            Assert.Equal(original.Level, restored.Level);
            Assert.Equal(original.TimeUntilAvailable(6), restored.TimeUntilAvailable(6));
        }
    }

    [Fact]
    public void Restore_refills_across_the_gap_and_caps_at_capacity_less_holds()
    {
        var original = new TokenBucket(60_000, Minute, _time);
        Assert.True(original.TryTake(50_000));
        Assert.True(original.TryHold(5_000));
        var snapshot = original.Export();

        _time.Advance(TimeSpan.FromSeconds(30));
        var restored = new TokenBucket(60_000, Minute, _time);
        restored.Restore(snapshot);

        Assert.Equal(5_000 + 30_000, restored.Level);
        Assert.Equal(5_000, restored.Held);

        _time.Advance(TimeSpan.FromMinutes(5));
        Assert.Equal(55_000, restored.Level);
    }

    [Fact]
    public void A_snapshot_from_a_clock_ahead_refills_nothing_until_the_clock_catches_up()
    {
        var original = new TokenBucket(60_000, Minute, _time);
        Assert.True(original.TryTake(60_000));
        var snapshot = original.Export() with { At = _time.GetUtcNow() + TimeSpan.FromSeconds(5) };

        var restored = new TokenBucket(60_000, Minute, _time);
        restored.Restore(snapshot);
        Assert.Equal(0, restored.Level);

        _time.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal(0, restored.Level);

        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(1_000, restored.Level);
    }

    [Fact]
    public void A_snapshot_under_another_capacity_keeps_holds_and_unrefilled_spend()
    {
        var original = new TokenBucket(60_000, Minute, _time);
        Assert.True(original.TryTake(30_000));
        Assert.True(original.TryHold(10_000));
        var snapshot = original.Export();

        // A limit cut to 30,000 leaves the bucket 10,000 in debt: 30,000 spent and 10,000 held already exceed it.
        var smaller = new TokenBucket(30_000, Minute, _time);
        smaller.Restore(snapshot);
        Assert.Equal(-10_000, smaller.Level);
        Assert.Equal(0, smaller.Available);
        Assert.Equal(10_000, smaller.Held);

        // A limit raised to 120,000 allows only what the raise adds, not a fresh burst.
        var larger = new TokenBucket(120_000, Minute, _time);
        larger.Restore(snapshot);
        Assert.Equal(80_000, larger.Level);

        // Both refill at their own rate, up to their own capacity less the holds.
        _time.Advance(TimeSpan.FromSeconds(20));
        Assert.Equal(0, smaller.Level);
        _time.Advance(TimeSpan.FromMinutes(5));
        Assert.Equal(20_000, smaller.Level);
        Assert.Equal(110_000, larger.Level);
    }

    [Theory]
    [InlineData(100, 60, 50, 0)]
    [InlineData(100, 10, -1, 0)]
    [InlineData(100, 10, 10, -1)]
    [InlineData(0, 0, 0, 0)]
    public void A_snapshot_that_no_bucket_could_export_is_refused(long capacity, long level, long held, long remainder)
    {
        var bucket = new TokenBucket(100, Minute, _time);
        var snapshot = new TokenBucketSnapshot(capacity, Minute, level, held, 0, remainder, _time.GetUtcNow());

        Assert.Throws<ArgumentException>(() => bucket.Restore(snapshot));
        Assert.Equal(100, bucket.Level);
    }
}
