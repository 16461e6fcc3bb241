using ControlPlane.Domain.Endpoints;
using ControlPlane.Domain.Slo;
using Microsoft.Extensions.Time.Testing;

namespace ControlPlane.Domain.Tests.Slo;

public sealed class WorkloadSloTests
{
    private readonly FakeTimeProvider _time = new();
    private readonly WorkloadSlo _slo = new("chat", new SloOptions());

    private DateTimeOffset Now => _time.GetUtcNow();

    /// <summary>Records <paramref name="perMinute"/> requests a minute for <paramref name="minutes"/>, a share of them bad.</summary>
    private void Traffic(int minutes, int perMinute, double badShare, Func<int, bool>? fallback = null, QualityVerdict verdict = QualityVerdict.None)
    {
        for (var m = 0; m < minutes; m++)
        {
            var bad = (int)Math.Round(perMinute * badShare);
            for (var i = 0; i < perMinute; i++)
            {
                _slo.Record(Now, available: i >= bad, verdict == QualityVerdict.None ? QualityVerdict.None : (i >= bad ? QualityVerdict.Pass : QualityVerdict.Fail), fallback?.Invoke(i) ?? false);
            }

            _time.Advance(TimeSpan.FromMinutes(1));
        }
    }

    [Fact]
    public void Error_budget_is_consumed_by_bad_events_against_the_target()
    {
        for (var i = 0; i < 1000; i++)
        {
            _slo.Record(Now, available: i >= 2);
        }

        var budget = _slo.Budget(SloKind.Availability, Now);
        Assert.Equal((1000L, 2L), (budget.Events, budget.BadEvents));
        Assert.Equal(5.0, budget.AllowedBadEvents, 9);
        Assert.Equal(0.4, budget.Consumed, 9);
        Assert.Equal(0.6, budget.Remaining, 9);
        Assert.Equal(0.998, budget.Attained, 9);
        Assert.Equal(TimeSpan.FromDays(30), budget.Period);

        for (var i = 0; i < 4; i++)
        {
            _slo.Record(Now, available: false);
        }

        Assert.True(_slo.Budget(SloKind.Availability, Now).Remaining < 0);
    }

    [Fact]
    public void Events_leave_the_budget_after_the_period()
    {
        _slo.Record(Now, available: false);
        _time.Advance(TimeSpan.FromDays(30) - TimeSpan.FromHours(1));
        Assert.Equal(1, _slo.Budget(SloKind.Availability, Now).BadEvents);
        _time.Advance(TimeSpan.FromHours(1));
        Assert.Equal(0, _slo.Budget(SloKind.Availability, Now).BadEvents);
        Assert.Equal(1.0, _slo.Budget(SloKind.Availability, Now).Remaining);
    }

    [Fact]
    public void Quality_budget_counts_verdicts_only()
    {
        _slo.Record(Now, true, QualityVerdict.Pass);
        _slo.Record(Now, true, QualityVerdict.Fail);
        _slo.Record(Now, false);
        var q = _slo.Budget(SloKind.Quality, Now);
        Assert.Equal((2L, 1L, 0.95), (q.Events, q.BadEvents, q.Target));
    }

    [Fact]
    public void Burn_rate_is_the_bad_ratio_over_the_budgeted_ratio()
    {
        Traffic(60, 100, 0.05);
        Assert.Equal(10.0, _slo.BurnRate(SloKind.Availability, Now.AddMinutes(-1), TimeSpan.FromHours(1)), 9);
    }

    [Fact]
    public void Fast_burn_pages_on_1h_and_5m_above_14_4()
    {
        Traffic(60, 100, 0.08); // burn 16
        var now = Now.AddMinutes(-1);
        var alert = Assert.Single(_slo.EvaluateAlerts(now), a => a.Name == "slo-availability-burn-1h-5m");
        Assert.Equal((AlertSeverity.Page, 14.4, TimeSpan.FromHours(1), TimeSpan.FromMinutes(5)), (alert.Severity, alert.Threshold, alert.Window, alert.ShortWindow!.Value));
        Assert.Equal(16, alert.Value, 6);
        Assert.Equal(16, alert.ShortValue!.Value, 6);
        Assert.Contains(_slo.EvaluateAlerts(now), a => a.Name == "slo-availability-burn-6h-30m" && a.Severity == AlertSeverity.Page);
        Assert.Contains(_slo.EvaluateAlerts(now), a => a.Name == "slo-availability-burn-1d-2h" && a.Severity == AlertSeverity.Ticket);
    }

    [Fact]
    public void Burn_below_14_4_does_not_page_on_the_fast_rule()
    {
        Traffic(60, 100, 0.07); // burn 14
        Assert.DoesNotContain(_slo.EvaluateAlerts(Now.AddMinutes(-1)), a => a.Name == "slo-availability-burn-1h-5m");
    }

    [Fact]
    public void The_page_resets_once_the_short_window_recovers()
    {
        Traffic(55, 100, 0.5);
        Assert.Contains(_slo.EvaluateAlerts(Now.AddMinutes(-1)), a => a.Name == "slo-availability-burn-1h-5m");
        Traffic(5, 100, 0);
        var alerts = _slo.EvaluateAlerts(Now.AddMinutes(-1));
        Assert.True(_slo.BurnRate(SloKind.Availability, Now.AddMinutes(-1), TimeSpan.FromHours(1)) > 14.4);
        Assert.DoesNotContain(alerts, a => a.Name == "slo-availability-burn-1h-5m");
    }

    [Fact]
    public void Slow_burn_tickets_on_3d_and_6h_above_1()
    {
        Traffic(3 * 24 * 60, 100, 0.01); // 1 % bad: burn 2
        var alerts = _slo.EvaluateAlerts(Now.AddMinutes(-1));
        Assert.DoesNotContain(alerts, a => a.Severity == AlertSeverity.Page);
        Assert.Contains(alerts, a => a.Name == "slo-availability-burn-3d-6h" && a.Severity == AlertSeverity.Ticket);
    }

    [Fact]
    public void Quality_burn_alerts_too()
    {
        Traffic(60, 100, 0.8, verdict: QualityVerdict.Pass);
        Assert.Contains(_slo.EvaluateAlerts(Now.AddMinutes(-1)), a => a.Name == "slo-quality-burn-1h-5m");
    }

    [Fact]
    public void Too_few_events_do_not_alert()
    {
        _slo.Record(Now, available: false);
        Assert.Empty(_slo.EvaluateAlerts(Now));
    }

    [Fact]
    public void Fallback_activation_above_10_percent_pages_over_5m_and_tickets_over_30m()
    {
        Traffic(30, 100, 0, fallback: i => i < 5);   // 5 % for half an hour
        Traffic(5, 100, 0, fallback: i => i < 40);   // then 40 % for 5 minutes
        var now = Now.AddMinutes(-1);
        var page = Assert.Single(_slo.EvaluateAlerts(now), a => a.Name == "fallback-activation-5m");
        Assert.Equal((AlertSeverity.Page, 0.4, 0.1), (page.Severity, page.Value, page.Threshold));
        Assert.Equal(0.4, _slo.FallbackRate(now, TimeSpan.FromMinutes(5)), 9);
        var ticket = Assert.Single(_slo.EvaluateAlerts(now), a => a.Name == "fallback-activation-30m");
        Assert.Equal(AlertSeverity.Ticket, ticket.Severity);
        Assert.Equal(((25 * 5) + (5 * 40)) / 3000.0, ticket.Value, 9);

        Traffic(30, 100, 0, fallback: i => i < 5);
        Assert.DoesNotContain(_slo.EvaluateAlerts(Now.AddMinutes(-1)), a => a.Name.StartsWith("fallback", StringComparison.Ordinal));
    }

    [Fact]
    public void State_is_bounded_and_documented()
    {
        Assert.Equal(((361 + 721) * 8) * 8, _slo.StateBytes);
    }

    [Theory]
    [InlineData(nameof(SloOptions.AvailabilityTarget))]
    [InlineData(nameof(SloOptions.BudgetPeriod))]
    [InlineData(nameof(SloOptions.BurnRateRules))]
    [InlineData(nameof(SloOptions.FallbackPageWindow))]
    public void Invalid_options_name_the_option(string option)
    {
        var o = new SloOptions();
        switch (option)
        {
            case nameof(SloOptions.AvailabilityTarget): o.AvailabilityTarget = 1; break;
            case nameof(SloOptions.BudgetPeriod): o.BudgetPeriod = TimeSpan.FromMinutes(90); break;
            case nameof(SloOptions.BurnRateRules): o.BurnRateRules = [new BurnRateRule(AlertSeverity.Page, TimeSpan.FromMinutes(5), TimeSpan.FromHours(1), 14.4)]; break;
            default: o.FallbackPageWindow = TimeSpan.Zero; break;
        }

        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new WorkloadSlo("chat", o));
        Assert.Contains($"SloOptions.{option}", e.Message, StringComparison.Ordinal);
    }
}
