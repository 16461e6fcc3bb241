using ControlPlane.Domain.Endpoints;
using ControlPlane.Domain.Health;
using static ControlPlane.Domain.Tests.Health.Samples;

namespace ControlPlane.Domain.Tests.Health;

public sealed class HealthWindowTests
{
    private static HealthWindow NewWindow() => new(new HealthWindowOptions());

    [Fact]
    public void Counts_every_outcome_class_tokens_cost_and_quality()
    {
        var w = NewWindow();
        var at = T0.AddSeconds(1);
        w.Record(new OutcomeSample { At = at, Status = OutcomeStatus.Success, Latency = TimeSpan.FromMilliseconds(200), InputTokens = 100, OutputTokens = 40, Cost = 0.5, Quality = QualityVerdict.Pass, QualityScore = 0.9 });
        w.Record(new OutcomeSample { At = at, Status = OutcomeStatus.Success, Latency = TimeSpan.FromMilliseconds(300), InputTokens = 10, OutputTokens = 4, Cost = 0.25, Quality = QualityVerdict.Fail, QualityScore = 0.3 });
        foreach (var status in Enum.GetValues<OutcomeStatus>().Where(s => s != OutcomeStatus.Success))
        {
            w.Record(Fail(at, status));
        }

        var s = w.Snapshot(at);
        Assert.Equal(9, s.Requests);
        Assert.Equal(2, s.Successes);
        Assert.Equal((1, 1, 1, 1, 1, 1, 1), (s.ServerErrors, s.RateLimited, s.Timeouts, s.ConnectionErrors, s.InvalidResponses, s.ContentFiltered, s.ClientErrors));
        Assert.Equal(4, s.Failures);
        Assert.Equal(8, s.Served);
        Assert.Equal(0.5, s.ErrorRate);
        Assert.Equal(1.0 / 9, s.RateLimitedRate, 12);
        Assert.Equal((110L, 44L), (s.InputTokens, s.OutputTokens));
        Assert.Equal(0.75, s.Cost, 12);
        Assert.Equal(0.375, s.CostPerSuccess!.Value, 12);
        Assert.Equal((1L, 1L, 0.5), (s.QualityPasses, s.QualityFailures, s.QualityPassRate!.Value));
        Assert.Equal(0.6, s.MeanQualityScore!.Value, 12);
        Assert.Equal(2, s.LatencySamples);
    }

    [Fact]
    public void Latency_histogram_holds_only_successes_and_ttft_only_measured_samples()
    {
        var w = NewWindow();
        var at = T0;
        w.Record(Ok(at, 1000));
        w.Record(new OutcomeSample { At = at, Status = OutcomeStatus.Timeout, Latency = TimeSpan.FromSeconds(30) });
        w.Record(new OutcomeSample { At = at, Status = OutcomeStatus.Success, Latency = TimeSpan.FromSeconds(1), TimeToFirstToken = TimeSpan.FromMilliseconds(250) });

        var s = w.Snapshot(at);
        Assert.Equal(2, s.LatencySamples);
        Assert.Equal(1, s.TtftSamples);
        Assert.InRange(s.LatencyP99!.Value.TotalMilliseconds, 1000 * (1 - LatencyHistogram.MaxRelativeError), 1000 * (1 + LatencyHistogram.MaxRelativeError));
        Assert.InRange(s.TtftP50!.Value.TotalMilliseconds, 250 * (1 - LatencyHistogram.MaxRelativeError), 250 * (1 + LatencyHistogram.MaxRelativeError));
    }

    [Fact]
    public void Percentiles_of_a_known_distribution()
    {
        var w = NewWindow();
        for (var i = 1; i <= 1000; i++)
        {
            w.Record(Ok(T0, i));
        }

        var s = w.Snapshot(T0);
        AssertClose(500, s.LatencyP50!.Value.TotalMilliseconds);
        AssertClose(950, s.LatencyP95!.Value.TotalMilliseconds);
        AssertClose(990, s.LatencyP99!.Value.TotalMilliseconds);
        AssertClose(950, w.Percentile(LatencyKind.Total, 0.95, T0)!.Value.TotalMilliseconds);
        Assert.Null(w.Percentile(LatencyKind.TimeToFirstToken, 0.95, T0));
        Assert.Throws<ArgumentOutOfRangeException>(() => w.Percentile(LatencyKind.Total, 0, T0));
    }

    [Fact]
    public void A_sample_leaves_exactly_when_its_bucket_leaves_the_window()
    {
        var w = NewWindow();
        var at = T0.AddSeconds(3); // bucket [T0, T0+10s)
        w.Record(Ok(at));

        Assert.Equal(1, w.Snapshot(T0.AddMinutes(5).AddMilliseconds(-1)).Requests);
        Assert.Equal(0, w.Snapshot(T0.AddMinutes(5)).Requests);
        Assert.Equal(0, w.Snapshot(at.AddMilliseconds(-3001)).Requests); // a query before the sample's bucket
    }

    [Fact]
    public void A_reused_slot_forgets_its_old_bucket()
    {
        var w = NewWindow();
        w.Record(Ok(T0, 5000));
        w.Record(Fail(T0));
        var later = T0.AddMinutes(5); // same slot, next lap
        w.Record(Ok(later, 10));

        var s = w.Snapshot(later);
        Assert.Equal(1, s.Requests);
        Assert.Equal(0, s.Failures);
        AssertClose(10, s.LatencyP99!.Value.TotalMilliseconds);
    }

    [Fact]
    public void Late_samples_outside_the_window_are_dropped_and_counted()
    {
        var w = NewWindow();
        w.Record(Ok(T0.AddMinutes(10)));
        w.Record(Ok(T0.AddMinutes(5).AddSeconds(10)));  // still inside: bucket 31 of 60..
        w.Record(Ok(T0.AddMinutes(5)));                 // exactly one window old: out
        Assert.Equal(1, w.DroppedLate);
        Assert.Equal(2, w.Snapshot(T0.AddMinutes(10)).Requests);
    }

    [Fact]
    public void Span_and_notBefore_select_the_newest_buckets()
    {
        var w = NewWindow();
        for (var s = 0; s < 300; s++)
        {
            w.Record(Ok(T0.AddSeconds(s)));
        }

        var now = T0.AddSeconds(299);
        Assert.Equal(300, w.Snapshot(now).Requests);
        Assert.Equal(60, w.Snapshot(now, TimeSpan.FromMinutes(1)).Requests);
        Assert.Equal(10, w.Snapshot(now, TimeSpan.FromMilliseconds(1)).Requests);
        Assert.Equal(100, w.Snapshot(now, notBefore: T0.AddSeconds(200)).Requests);
        Assert.Equal(90, w.Snapshot(now, notBefore: T0.AddSeconds(200).AddMilliseconds(1)).Requests);
        Assert.Equal(T0.AddSeconds(200), w.Snapshot(now, notBefore: T0.AddSeconds(200)).From);
        Assert.Equal(T0.AddSeconds(300), w.Snapshot(now).To);
    }

    [Fact]
    public void Empty_window_has_no_rates_or_percentiles()
    {
        var s = NewWindow().Snapshot(T0);
        Assert.Equal(0, s.ErrorRate);
        Assert.Null(s.LatencyP95);
        Assert.Null(s.QualityPassRate);
        Assert.Null(s.CostPerSuccess);
    }

    [Fact]
    public void State_bytes_are_fixed_by_the_options()
    {
        Assert.Equal(207_568, HealthWindow.StateBytes(new HealthWindowOptions()));
        Assert.Equal(30, new HealthWindowOptions().BucketCount);
    }

    [Theory]
    [InlineData(50, 300_000, "HealthWindowOptions.BucketDuration")]
    [InlineData(10_000, 5_000, "HealthWindowOptions.WindowDuration")]
    [InlineData(7_000, 300_000, "HealthWindowOptions.WindowDuration")]
    [InlineData(100, 3_600_000, "HealthWindowOptions.WindowDuration")]
    public void Invalid_options_name_the_option(int bucketMs, int windowMs, string option)
    {
        var o = new HealthWindowOptions { BucketDuration = TimeSpan.FromMilliseconds(bucketMs), WindowDuration = TimeSpan.FromMilliseconds(windowMs) };
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new HealthWindow(o));
        Assert.Contains(option, e.Message, StringComparison.Ordinal);
    }

    private static void AssertClose(double expected, double actual) =>
        Assert.InRange(actual, expected * (1 - LatencyHistogram.MaxRelativeError), expected * (1 + LatencyHistogram.MaxRelativeError));
}
