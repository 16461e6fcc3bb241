using ControlPlane.Domain.Endpoints;
using ControlPlane.Domain.Slo;
using Microsoft.Extensions.Time.Testing;
using Xunit.Abstractions;

namespace ControlPlane.Domain.Tests.Slo;

public sealed class WorkloadSloRestoreTests(ITestOutputHelper output)
{
    private static readonly SloOptions Options = new() { LatencyThreshold = TimeSpan.FromSeconds(4) };
    private readonly FakeTimeProvider _time = new();

    private DateTimeOffset Now => _time.GetUtcNow();

    /// <summary>Requests every minute for <paramref name="minutes"/>: 2 % unavailable, 10 % slow, quality verdicts, 20 % by fallback.</summary>
    private void Traffic(WorkloadSlo slo, int minutes, int perMinute)
    {
        for (var m = 0; m < minutes; m++)
        {
            for (var i = 0; i < perMinute; i++)
            {
                slo.Record(Now, available: i % 50 != 0, i % 20 == 0 ? QualityVerdict.Fail : QualityVerdict.Pass, fallback: i % 5 == 0,
                    latency: TimeSpan.FromMilliseconds(i % 10 == 0 ? 5000 : 800));
            }

            _time.Advance(TimeSpan.FromMinutes(1));
        }
    }

    private static void AssertSame(WorkloadSlo expected, WorkloadSlo actual, DateTimeOffset now)
    {
        foreach (var kind in (SloKind[])[SloKind.Availability, SloKind.Quality, SloKind.Latency])
        {
            Assert.Equal(expected.Budget(kind, now), actual.Budget(kind, now));
            foreach (var window in (int[])[5, 30, 60, 360, 1440, 4320])
            {
                Assert.Equal(expected.BurnRate(kind, now, TimeSpan.FromMinutes(window)), actual.BurnRate(kind, now, TimeSpan.FromMinutes(window)));
            }
        }

        Assert.Equal(expected.FallbackRate(now, TimeSpan.FromMinutes(30)), actual.FallbackRate(now, TimeSpan.FromMinutes(30)));
        Assert.Equal(expected.EvaluateAlerts(now).Select(a => (a.Name, a.Value)), actual.EvaluateAlerts(now).Select(a => (a.Name, a.Value)));
    }

    [Fact]
    public void Exported_counts_restore_the_same_budgets_burn_rates_and_alerts()
    {
        var slo = new WorkloadSlo("chat", Options);
        Traffic(slo, minutes: 3 * 60, perMinute: 100);
        _time.Advance(TimeSpan.FromDays(2));
        Traffic(slo, minutes: 90, perMinute: 100);

        var exported = slo.Export();
        var restored = new WorkloadSlo("chat", Options);
        Assert.True(restored.Restore(exported));

        AssertSame(slo, restored, Now);
        AssertSame(slo, restored, Now.AddDays(1));
        Assert.Contains(restored.EvaluateAlerts(Now.AddMinutes(-1)), a => a.Name == "slo-latency-burn-3d-6h");
    }

    [Fact]
    public void A_write_is_small_only_non_empty_buckets_are_exported()
    {
        var empty = new WorkloadSlo("chat", Options).Export();
        var slo = new WorkloadSlo("chat", Options);
        Traffic(slo, minutes: 24 * 60, perMinute: 100);
        var day = slo.Export();
        Traffic(slo, minutes: 29 * 24 * 60, perMinute: 100);

        var full = slo.Export();
        output.WriteLine($"empty: {empty.Length} B; at 100 requests/min for 1 day: {day.Length} B, for 30 days: {full.Length} B (in memory {slo.StateBytes} B)");
        Assert.True(empty.Length <= 4);
        // 360 busy minutes and up to 720 busy hours: a few bytes a bucket, far below the rings' fixed size.
        Assert.True(day.Length < 4_000, $"{day.Length} bytes");
        Assert.True(full.Length < 16_000, $"{full.Length} bytes");
        Assert.True(full.Length * 4 < slo.StateBytes);
    }

    [Fact]
    public void Malformed_or_unknown_exports_are_refused()
    {
        var slo = new WorkloadSlo("chat", Options);
        Traffic(slo, minutes: 10, perMinute: 10);
        var exported = slo.Export();

        Assert.False(new WorkloadSlo("chat", Options).Restore([]));
        Assert.False(new WorkloadSlo("chat", Options).Restore([9, 7]));
        Assert.False(new WorkloadSlo("chat", Options).Restore(exported.AsSpan(0, exported.Length - 1)));
        Assert.False(new WorkloadSlo("chat", Options).Restore([.. exported, 0]));
        Assert.False(new WorkloadSlo("chat", Options).Restore([1, 7, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]));
    }

    [Fact]
    public void Counts_of_an_export_with_fewer_fields_restore_into_the_fields_they_have()
    {
        // Format 1 with 5 fields per bucket (an export made before the latency SLO): one minute, one hour bucket,
        // 3 requests of which 1 unavailable.
        var bucketMinute = (ulong)(Now.UtcTicks / TimeSpan.TicksPerMinute);
        var bucketHour = (ulong)(Now.UtcTicks / TimeSpan.TicksPerHour);
        var bytes = new List<byte> { 1, 5, 1 };
        Leb(bytes, bucketMinute);
        bytes.AddRange([3, 1, 0, 0, 0, 1]);
        Leb(bytes, bucketHour);
        bytes.AddRange([3, 1, 0, 0, 0]);

        var slo = new WorkloadSlo("chat", Options);
        Assert.True(slo.Restore([.. bytes]));

        Assert.Equal((3L, 1L), (slo.Budget(SloKind.Availability, Now).Events, slo.Budget(SloKind.Availability, Now).BadEvents));
        Assert.Equal(0, slo.Budget(SloKind.Latency, Now).Events);
    }

    private static void Leb(List<byte> output, ulong value)
    {
        while (value >= 0x80)
        {
            output.Add((byte)(value | 0x80));
            value >>= 7;
        }

        output.Add((byte)value);
    }
}
