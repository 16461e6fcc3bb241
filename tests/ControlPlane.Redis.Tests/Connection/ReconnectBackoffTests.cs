using ControlPlane.Redis.Connection;

namespace ControlPlane.Redis.Tests.Connection;

public sealed class ReconnectBackoffTests
{
    [Fact]
    public void Doubles_from_the_minimum_up_to_the_maximum_with_jitter_below_each_ceiling()
    {
        var backoff = new ReconnectBackoff(TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(2), new Random(42));
        double[] ceilings = [100, 200, 400, 800, 1600, 2000, 2000, 2000];

        for (var failures = 1; failures <= ceilings.Length; failures++)
        {
            var ceiling = ceilings[failures - 1];
            for (var sample = 0; sample < 50; sample++)
            {
                var delay = backoff.Delay(failures).TotalMilliseconds;
                Assert.InRange(delay, Math.Max(100, ceiling * ReconnectBackoff.JitterFloor), ceiling);
            }
        }
    }

    [Fact]
    public void Jitter_comes_from_the_injected_random_source()
    {
        var a = new ReconnectBackoff(TimeSpan.FromMilliseconds(10), TimeSpan.FromSeconds(10), new Random(1));
        var b = new ReconnectBackoff(TimeSpan.FromMilliseconds(10), TimeSpan.FromSeconds(10), new Random(1));

        var first = Enumerable.Range(1, 10).Select(a.Delay).ToList();
        var second = Enumerable.Range(1, 10).Select(b.Delay).ToList();

        Assert.Equal(first, second);
        Assert.True(first.Distinct().Count() > 1);
    }

    [Fact]
    public void Does_not_overflow_after_many_failures()
    {
        var backoff = new ReconnectBackoff(TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(10), new Random(3));

        Assert.InRange(backoff.Delay(10_000), TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(10));
    }
}
