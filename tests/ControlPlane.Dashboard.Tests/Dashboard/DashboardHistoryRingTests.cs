using ControlPlane.Service.Dashboard;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace ControlPlane.Dashboard.Tests.Dashboard;

public sealed class DashboardHistoryRingTests
{
    private static readonly FakeTimeProvider Time = new(new DateTimeOffset(2026, 12, 6, 12, 0, 0, TimeSpan.Zero));

    private static DashboardSnapshot Snapshot(DateTimeOffset at, int endpoints, long requests) => new(at, "n1", null, null,
        [.. Enumerable.Range(0, endpoints).Select(i => new DashboardEndpointRow($"ep{i}", "p", "m", "r", "closed", "healthy", "closed", null, false,
            requests, 0.01 * i, 0, 100 + i, null, null, null, null, null))],
        [], [], []);

    [Fact]
    public void The_ring_keeps_the_last_window_of_samples_oldest_first_and_no_more()
    {
        // One minute at 10 s: six samples.
        var ring = new DashboardHistoryRing(Options.Create(new DashboardOptions { SampleInterval = TimeSpan.FromSeconds(10), HistoryWindow = TimeSpan.FromMinutes(1) }));
        var start = Time.GetUtcNow();
        for (var i = 0; i < 10; i++)
        {
            ring.Record(Snapshot(start.AddSeconds(10 * i), 2, i));
        }

        var history = ring.Since(DateTimeOffset.MinValue);

        Assert.Equal(6, ring.Count);
        Assert.Equal(10, history.IntervalSeconds);
        Assert.Equal([4L, 5, 6, 7, 8, 9], history.Samples.Select(s => s.Endpoints[0].Requests));
        Assert.Equal(start.AddSeconds(40), history.Samples[0].At);
    }

    [Fact]
    public void Since_leaves_out_older_samples()
    {
        var ring = new DashboardHistoryRing(Options.Create(new DashboardOptions()));
        var start = Time.GetUtcNow();
        for (var i = 0; i < 30; i++)
        {
            ring.Record(Snapshot(start.AddSeconds(10 * i), 1, i));
        }

        var lastMinute = ring.Since(start.AddSeconds(290 - 60));

        Assert.Equal([23L, 24, 25, 26, 27, 28, 29], lastMinute.Samples.Select(s => s.Endpoints[0].Requests));
    }

    [Fact]
    public void A_sample_holds_at_most_the_charted_endpoints()
    {
        var ring = new DashboardHistoryRing(Options.Create(new DashboardOptions { MaxChartedEndpoints = 3 }));

        ring.Record(Snapshot(Time.GetUtcNow(), 10, 1));

        var sample = Assert.Single(ring.Since(DateTimeOffset.MinValue).Samples);
        Assert.Equal(["ep0", "ep1", "ep2"], sample.Endpoints.Select(p => p.Id));
        Assert.Equal(101, sample.Endpoints[1].LatencyP95Ms);
    }

    [Theory]
    [InlineData(0, 3600, 32, 20)]
    [InlineData(10, 0, 32, 20)]
    [InlineData(10, 3600, 0, 20)]
    [InlineData(10, 3600, 32, 201)]
    [InlineData(10, 86_400, 32, 20)]
    public void Out_of_range_options_are_refused(int sampleSeconds, int windowSeconds, int maxStreams, int auditEntries)
    {
        var options = new DashboardOptions
        {
            SampleInterval = TimeSpan.FromSeconds(sampleSeconds),
            HistoryWindow = TimeSpan.FromSeconds(windowSeconds),
            MaxStreams = maxStreams,
            AuditEntries = auditEntries,
        };

        Assert.Throws<ArgumentOutOfRangeException>(options.Validate);
    }

    [Fact]
    public void The_defaults_are_valid_and_hold_an_hour_at_ten_seconds()
    {
        var options = new DashboardOptions();

        options.Validate();

        Assert.Equal(360, options.HistoryCapacity);
    }
}
