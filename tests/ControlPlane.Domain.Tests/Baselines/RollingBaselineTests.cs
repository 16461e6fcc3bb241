using ControlPlane.Domain.Baselines;
using ControlPlane.Domain.Health;

namespace ControlPlane.Domain.Tests.Baselines;

public sealed class RollingBaselineTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static HealthSnapshot Snap(double p95Ms, long samples = 100, long pass = 90, long fail = 10, double cost = 1.0, long successes = 100) => new()
    {
        LatencySamples = samples,
        LatencyP95 = TimeSpan.FromMilliseconds(p95Ms),
        TtftSamples = samples,
        TtftP95 = TimeSpan.FromMilliseconds(p95Ms / 4),
        QualityPasses = pass,
        QualityFailures = fail,
        Successes = successes,
        Cost = cost * successes,
        Requests = successes,
    };

    [Fact]
    public void Nothing_is_published_before_the_minimum_observations()
    {
        var b = new RollingBaseline(new BaselineOptions { MinObservations = 3 });
        b.Observe(T0, Snap(200));
        b.Observe(T0.AddMinutes(1), Snap(200));
        Assert.Equal(BaselineValues.None, b.Current);

        b.Observe(T0.AddMinutes(2), Snap(200));
        var c = b.Current;
        Assert.Equal(TimeSpan.FromMilliseconds(200), c.LatencyP95);
        Assert.Equal(TimeSpan.FromMilliseconds(50), c.TtftP95);
        Assert.Equal(0.9, c.QualityPassRate!.Value, 12);
        Assert.Equal(1.0, c.CostPerSuccess!.Value, 12);
    }

    [Fact]
    public void Observations_decay_by_e_per_horizon()
    {
        var b = new RollingBaseline(new BaselineOptions { MinObservations = 1, Horizon = TimeSpan.FromDays(7) });
        b.Observe(T0, Snap(100));
        b.Observe(T0.AddDays(7), Snap(200));
        var w = Math.Exp(-1);
        var expected = ((100_000 * w) + 200_000) / (w + 1); // µs
        Assert.Equal(expected, b.Current.LatencyP95!.Value.Ticks / 10.0, 0);
    }

    [Fact]
    public void A_week_of_new_normal_moves_the_baseline_most_of_the_way()
    {
        var b = new RollingBaseline(new BaselineOptions { MinObservations = 1 });
        var t = T0;
        for (var i = 0; i < 7 * 24; i++, t = t.AddHours(1))
        {
            b.Observe(t, Snap(100));
        }

        for (var i = 0; i < 7 * 24; i++, t = t.AddHours(1))
        {
            b.Observe(t, Snap(200));
        }

        var ms = b.Current.LatencyP95!.Value.TotalMilliseconds;
        Assert.InRange(ms, 155, 175); // about 1 - 1/e of the step, i.e. not the old 100 nor the new 200
    }

    [Fact]
    public void Snapshots_with_too_few_samples_do_not_move_a_metric()
    {
        var b = new RollingBaseline(new BaselineOptions { MinObservations = 1, MinSamplesPerObservation = 20 });
        b.Observe(T0, Snap(100));
        b.Observe(T0.AddMinutes(1), Snap(5000, samples: 19, pass: 1, fail: 1, cost: 9, successes: 19));
        Assert.Equal(TimeSpan.FromMilliseconds(100), b.Current.LatencyP95);
        Assert.Equal(0.9, b.Current.QualityPassRate!.Value, 12);
        Assert.Equal(1.0, b.Current.CostPerSuccess!.Value, 12);
    }

    [Fact]
    public void State_round_trips_through_restore()
    {
        var options = new BaselineOptions { MinObservations = 2 };
        var a = new RollingBaseline(options);
        a.Observe(T0, Snap(100));
        a.Observe(T0.AddHours(1), Snap(300));
        var b = new RollingBaseline(options);
        var (l, t, p, c) = a.State;
        b.Restore(l, t, p, c);
        Assert.Equal(a.Current, b.Current);
    }

    [Theory]
    [InlineData(0.5, 30, 20, "BaselineOptions.Horizon")]
    [InlineData(10080, 0, 20, "BaselineOptions.MinObservations")]
    [InlineData(10080, 30, 0, "BaselineOptions.MinSamplesPerObservation")]
    public void Invalid_options_name_the_option(double horizonMinutes, int minObservations, int minSamples, string option)
    {
        var o = new BaselineOptions { Horizon = TimeSpan.FromMinutes(horizonMinutes), MinObservations = minObservations, MinSamplesPerObservation = minSamples };
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new RollingBaseline(o));
        Assert.Contains(option, e.Message, StringComparison.Ordinal);
    }
}
