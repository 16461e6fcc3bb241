using ControlPlane.Domain.Slo;
using Microsoft.Extensions.Time.Testing;

namespace ControlPlane.Domain.Tests.Slo;

public sealed class WorkloadSloLatencyTests
{
    private readonly FakeTimeProvider _time = new();
    private readonly WorkloadSlo _slo = new("chat", new SloOptions { LatencyThreshold = TimeSpan.FromMilliseconds(4000) });

    private DateTimeOffset Now => _time.GetUtcNow();

    /// <summary><paramref name="perMinute"/> served requests a minute, a share of them slower than the 4 s objective.</summary>
    private void Traffic(WorkloadSlo slo, int minutes, int perMinute, double slowShare)
    {
        for (var m = 0; m < minutes; m++)
        {
            var slow = (int)Math.Round(perMinute * slowShare);
            for (var i = 0; i < perMinute; i++)
            {
                slo.Record(Now, available: true, latency: TimeSpan.FromMilliseconds(i < slow ? 4001 : 900));
            }

            _time.Advance(TimeSpan.FromMinutes(1));
        }
    }

    [Fact]
    public void A_request_slower_than_the_objective_spends_the_latency_budget_of_five_percent()
    {
        for (var i = 0; i < 1000; i++)
        {
            _slo.Record(Now, available: true, latency: TimeSpan.FromMilliseconds(i < 25 ? 4001 : 4000));
        }

        // Not served: no latency event.
        _slo.Record(Now, available: false);

        var budget = _slo.Budget(SloKind.Latency, Now);
        Assert.Equal((SloKind.Latency, 0.95), (budget.Kind, budget.Target));
        Assert.Equal((1000L, 25L), (budget.Events, budget.BadEvents));
        Assert.Equal(0.5, budget.Consumed, 9);
        Assert.Equal(1001, _slo.Budget(SloKind.Availability, Now).Events);
    }

    [Fact]
    public void Fast_latency_burn_pages_on_1h_and_5m()
    {
        // 100 % slow for an hour: burn rate 1 / 0.05 = 20 > 14.4.
        Traffic(_slo, minutes: 60, perMinute: 20, slowShare: 1.0);
        var now = Now.AddMinutes(-1);

        var alert = Assert.Single(_slo.EvaluateAlerts(now), a => a.Name == "slo-latency-burn-1h-5m");
        Assert.Equal(AlertSeverity.Page, alert.Severity);
        Assert.Equal(20, alert.Value, 6);
        Assert.Equal(20, _slo.BurnRate(SloKind.Latency, now, TimeSpan.FromMinutes(5)), 6);
    }

    [Fact]
    public void Slow_requests_within_five_percent_do_not_alert()
    {
        Traffic(_slo, minutes: 60, perMinute: 20, slowShare: 0.05);
        Assert.DoesNotContain(_slo.EvaluateAlerts(Now.AddMinutes(-1)), a => a.Name.StartsWith("slo-latency", StringComparison.Ordinal));
    }

    [Fact]
    public void Without_a_latency_objective_latency_is_not_counted_and_never_alerts()
    {
        var slo = new WorkloadSlo("batch", new SloOptions());
        Traffic(slo, minutes: 60, perMinute: 20, slowShare: 1.0);

        Assert.Equal(0, slo.Budget(SloKind.Latency, Now).Events);
        Assert.DoesNotContain(slo.EvaluateAlerts(Now.AddMinutes(-1)), a => a.Name.StartsWith("slo-latency", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(0.0, "SloOptions.LatencyTarget")]
    [InlineData(1.0, "SloOptions.LatencyTarget")]
    public void An_invalid_latency_target_names_the_option(double target, string option)
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new SloOptions { LatencyTarget = target }.Validate());
        Assert.StartsWith(option, error.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => new SloOptions { LatencyThreshold = TimeSpan.Zero }.Validate());
    }
}
