using ControlPlane.Domain.Quotas;
using Microsoft.Extensions.Time.Testing;

namespace ControlPlane.Domain.Tests.Quotas;

public sealed class TokenBucketTests
{
    private readonly FakeTimeProvider _time = new();

    [Fact]
    public void Starts_full_and_takes_until_empty()
    {
        var bucket = new TokenBucket(100, TimeSpan.FromMinutes(1), _time);

        Assert.Equal(100, bucket.Available);
        Assert.True(bucket.TryTake(60));
        Assert.False(bucket.TryTake(41));
        Assert.True(bucket.TryTake(40));
        Assert.Equal(0, bucket.Available);
        Assert.Equal(100, bucket.NetCharged);
    }

    [Fact]
    public void Refills_to_the_millisecond()
    {
        // 60,000 tokens per minute is exactly one token per millisecond.
        var bucket = new TokenBucket(60_000, TimeSpan.FromMinutes(1), _time);
        Assert.True(bucket.TryTake(60_000));

        _time.Advance(TimeSpan.FromTicks(TimeSpan.TicksPerMillisecond - 1));
        Assert.Equal(0, bucket.Available);

        _time.Advance(TimeSpan.FromTicks(1));
        Assert.Equal(1, bucket.Available);

        _time.Advance(TimeSpan.FromMilliseconds(249));
        Assert.Equal(250, bucket.Available);
    }

    [Fact]
    public void Refill_carries_the_remainder_so_small_steps_add_up_exactly()
    {
        // 3 per second: one token every 333.33 ms; a thousand 1 ms steps must yield exactly 3.
        var bucket = new TokenBucket(3, TimeSpan.FromSeconds(1), _time);
        Assert.True(bucket.TryTake(3));

        _time.Advance(TimeSpan.FromMilliseconds(333));
        Assert.Equal(0, bucket.Available);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(1, bucket.Available);

        Assert.True(bucket.TryTake(1));
        for (int i = 0; i < 666; i++)
        {
            _time.Advance(TimeSpan.FromMilliseconds(1));
        }

        Assert.Equal(2, bucket.Available);
    }

    [Fact]
    public void Never_refills_past_capacity()
    {
        var bucket = new TokenBucket(10, TimeSpan.FromSeconds(1), _time);
        Assert.True(bucket.TryTake(5));

        _time.Advance(TimeSpan.FromHours(5));

        Assert.Equal(10, bucket.Level);
    }

    [Fact]
    public void Time_until_available_is_the_exact_refill_instant()
    {
        var bucket = new TokenBucket(60_000, TimeSpan.FromMinutes(1), _time);
        Assert.True(bucket.TryTake(60_000));

        var wait = bucket.TimeUntilAvailable(1_500);
        Assert.Equal(TimeSpan.FromMilliseconds(1_500), wait);

        _time.Advance(wait - TimeSpan.FromTicks(1));
        Assert.False(bucket.TryTake(1_500));
        _time.Advance(TimeSpan.FromTicks(1));
        Assert.True(bucket.TryTake(1_500));
        Assert.Equal(TimeSpan.MaxValue, bucket.TimeUntilAvailable(60_001));
    }

    [Fact]
    public void An_extra_charge_puts_the_bucket_in_debt_that_refill_pays_back()
    {
        var bucket = new TokenBucket(60_000, TimeSpan.FromMinutes(1), _time);
        Assert.True(bucket.TryTake(60_000));

        bucket.Charge(1_000);

        Assert.Equal(-1_000, bucket.Level);
        Assert.Equal(0, bucket.Available);
        _time.Advance(TimeSpan.FromMilliseconds(1_001));
        Assert.Equal(1, bucket.Available);
        Assert.Equal(61_000, bucket.NetCharged);
    }

    [Fact]
    public void A_refund_into_a_full_bucket_is_capped_but_still_counted_as_refunded()
    {
        var bucket = new TokenBucket(100, TimeSpan.FromSeconds(1), _time);
        Assert.True(bucket.TryTake(50));
        _time.Advance(TimeSpan.FromSeconds(1));

        bucket.Refund(50);

        Assert.Equal(100, bucket.Level);
        Assert.Equal(0, bucket.NetCharged);
    }

    [Fact]
    public void Held_units_are_not_refilled_until_the_hold_ends()
    {
        var bucket = new TokenBucket(100, TimeSpan.FromSeconds(1), _time);
        Assert.True(bucket.TryHold(70));

        _time.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(30, bucket.Level);
        Assert.Equal(70, bucket.Held);

        bucket.EndHold(70, unused: 20);
        Assert.Equal(50, bucket.Level);
        Assert.Equal(50, bucket.NetCharged);

        _time.Advance(TimeSpan.FromMilliseconds(500));
        Assert.Equal(100, bucket.Level);
    }

    [Fact]
    public void A_clock_that_steps_back_refills_nothing()
    {
        var clock = new SteppingClock(new DateTimeOffset(2026, 1, 1, 0, 0, 10, TimeSpan.Zero));
        var bucket = new TokenBucket(1_000, TimeSpan.FromSeconds(1), clock);
        Assert.True(bucket.TryTake(1_000));

        clock.Now = clock.Now.AddSeconds(-5);
        Assert.Equal(0, bucket.Available);
        clock.Now = clock.Now.AddMilliseconds(10);
        Assert.Equal(0, bucket.Available);
    }

    [Fact]
    public void Rejects_a_non_positive_capacity_or_period()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new TokenBucket(0, TimeSpan.FromSeconds(1), _time));
        Assert.Throws<ArgumentOutOfRangeException>(() => new TokenBucket(1, TimeSpan.Zero, _time));
    }

    private sealed class SteppingClock(DateTimeOffset start) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = start;

        public override DateTimeOffset GetUtcNow() => Now;
    }
}
