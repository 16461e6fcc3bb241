using ControlPlane.Domain.Health;
using FsCheck;
using FsCheck.Fluent;

namespace ControlPlane.Domain.Tests.Health;

public sealed class LatencyHistogramTests
{
    [Fact]
    public void Buckets_are_contiguous_and_each_bound_maps_back_to_its_bucket()
    {
        for (var i = 0; i < LatencyHistogram.BucketCount; i++)
        {
            var lo = LatencyHistogram.LowerBound(i);
            var hi = lo + LatencyHistogram.Width(i) - 1;
            Assert.Equal(i, LatencyHistogram.IndexOf(lo));
            Assert.Equal(i, LatencyHistogram.IndexOf(hi));
            if (i + 1 < LatencyHistogram.BucketCount)
            {
                Assert.Equal(hi + 1, LatencyHistogram.LowerBound(i + 1));
            }
        }

        Assert.Equal(LatencyHistogram.MaxMicroseconds + 1,
            LatencyHistogram.LowerBound(LatencyHistogram.BucketCount - 1) + LatencyHistogram.Width(LatencyHistogram.BucketCount - 1));
    }

    [Fact]
    public void Small_values_are_exact_and_huge_values_clamp_into_the_last_bucket()
    {
        Assert.Equal(37, LatencyHistogram.Representative(LatencyHistogram.IndexOf(37)));
        Assert.Equal(0, LatencyHistogram.IndexOf(-5));
        Assert.Equal(LatencyHistogram.BucketCount - 1, LatencyHistogram.IndexOf(long.MaxValue));
        Assert.Equal(832, LatencyHistogram.BucketCount);
    }

    [Fact]
    public void Representative_is_within_the_stated_relative_error_of_every_value_in_its_bucket()
    {
        var values = Gen.Choose(0, 30).SelectMany(bits => Gen.Choose(0, int.MaxValue).Select(r => (long)r % (1L << bits) + (1L << bits)));
        Prop.ForAll(Arb.From(values), v =>
        {
            var rep = LatencyHistogram.Representative(LatencyHistogram.IndexOf(v));
            var clamped = Math.Min(v, LatencyHistogram.MaxMicroseconds);
            return Math.Abs(rep - clamped) <= LatencyHistogram.MaxRelativeError * clamped;
        }).QuickCheckThrowOnFailure();
    }
}
