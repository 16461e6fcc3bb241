using ControlPlane.Domain.Baselines;
using ControlPlane.Domain.Endpoints;
using ControlPlane.Domain.Health;
using ControlPlane.Domain.Slo;
using ControlPlane.Domain.Tests.Health;
using Microsoft.Extensions.Time.Testing;

namespace ControlPlane.Domain.Tests.Slo;

public sealed class ProviderHealthAlertsTests
{
    private static readonly BaselineValues Baseline = new() { LatencyP95 = TimeSpan.FromMilliseconds(100), QualityPassRate = 0.9, CostPerSuccess = 0.01 };

    private readonly FakeTimeProvider _time = new();
    private readonly HealthWindow _window = new(new HealthWindowOptions());
    private readonly ProviderHealthAlerts _alerts = new(new ProviderAlertOptions());

    private DateTimeOffset Now => _time.GetUtcNow();

    /// <summary>Ten requests a second for <paramref name="seconds"/>; <paramref name="make"/> builds request i of each second.</summary>
    private void Traffic(int seconds, Func<DateTimeOffset, int, OutcomeSample> make)
    {
        for (var s = 0; s < seconds; s++)
        {
            for (var i = 0; i < 10; i++)
            {
                _window.Record(make(Now, i));
            }

            _time.Advance(TimeSpan.FromSeconds(1));
        }
    }

    private IReadOnlyList<HealthAlert> Evaluate() => _alerts.Evaluate(Now, _window, Baseline);

    [Fact]
    public void Healthy_traffic_raises_nothing()
    {
        Traffic(300, (t, _) => Samples.Ok(t));
        Assert.Empty(Evaluate());
    }

    [Fact]
    public void Error_rate_above_5_percent_over_5_minutes_pages()
    {
        Traffic(300, (t, i) => i == 0 ? Samples.Fail(t) : Samples.Ok(t)); // 10 %
        var a = Assert.Single(Evaluate());
        Assert.Equal(("provider-error-rate", AlertSeverity.Page, 0.05, TimeSpan.FromMinutes(5)), (a.Name, a.Severity, a.Threshold, a.Window));
        Assert.Equal(0.1, a.Value, 2);
    }

    [Fact]
    public void p95_above_2x_baseline_pages_only_after_3_minutes()
    {
        Traffic(300, (t, _) => Samples.Ok(t, 250));
        Assert.Empty(Evaluate()); // condition starts holding now
        for (var i = 0; i < 17; i++)
        {
            Traffic(10, (t, _) => Samples.Ok(t, 250));
            Assert.Empty(Evaluate());
        }

        Traffic(10, (t, _) => Samples.Ok(t, 250)); // 180 s since it started holding
        var a = Assert.Single(Evaluate());
        Assert.Equal(("provider-latency-p95", AlertSeverity.Page, 2.0, TimeSpan.FromMinutes(3)), (a.Name, a.Severity, a.Threshold, a.Window));
        Assert.InRange(a.Value, 2.45, 2.55);

        Traffic(60, (t, _) => Samples.Ok(t, 100));
        Assert.Empty(Evaluate());
    }

    [Fact]
    public void A_429_rate_above_2_percent_over_2_minutes_pages()
    {
        Traffic(120, (t, i) => i == 0 && t.Second % 3 == 0 ? Samples.RateLimited(t, null) : Samples.Ok(t)); // about 3.3 %
        var a = Assert.Single(Evaluate());
        Assert.Equal(("provider-rate-limited", AlertSeverity.Page, TimeSpan.FromMinutes(2)), (a.Name, a.Severity, a.Window));
        Assert.InRange(a.Value, 0.03, 0.035);
    }

    [Fact]
    public void Cost_per_success_above_120_percent_of_baseline_opens_a_ticket()
    {
        Traffic(300, (t, _) => Samples.Ok(t, cost: 0.0115));
        Assert.Empty(Evaluate());
        Traffic(300, (t, _) => Samples.Ok(t, cost: 0.0125));
        var a = Assert.Single(Evaluate());
        Assert.Equal(("provider-cost-per-success", AlertSeverity.Ticket, 0.2), (a.Name, a.Severity, a.Threshold));
        Assert.Equal(0.25, a.Value, 6);
    }

    [Fact]
    public void Quality_more_than_15_percent_below_baseline_opens_a_ticket()
    {
        Traffic(300, (t, i) => Samples.Ok(t, quality: i < 7 ? QualityVerdict.Pass : QualityVerdict.Fail)); // 0.7 vs 0.9
        var a = Assert.Single(Evaluate());
        Assert.Equal(("provider-quality-drop", AlertSeverity.Ticket, 0.15), (a.Name, a.Severity, a.Threshold));
        Assert.Equal(1 - (0.7 / 0.9), a.Value, 6);
    }

    [Fact]
    public void A_window_shorter_than_the_rules_is_refused()
    {
        var shortWindow = new HealthWindow(new HealthWindowOptions { WindowDuration = TimeSpan.FromMinutes(1) });
        var e = Assert.Throws<ArgumentException>(() => _alerts.Evaluate(Now, shortWindow, Baseline));
        Assert.Contains("00:05:00", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Invalid_options_name_the_option()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new ProviderHealthAlerts(new ProviderAlertOptions { RateLimitedThreshold = 0 }));
        Assert.Contains("ProviderAlertOptions.RateLimitedThreshold", e.Message, StringComparison.Ordinal);
    }
}
