using ControlPlane.Domain.Quotas;
using ControlPlane.Domain.Slo;
using Microsoft.Extensions.Time.Testing;

namespace ControlPlane.Domain.Tests.Slo;

public sealed class SpendAlertsTests
{
    private const long Usd = SpendUnits.NanosPerUsd;
    private static readonly DateTimeOffset Day = new(2026, 3, 10, 0, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Month = new(2026, 3, 1, 0, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData(79, 0, null)]
    [InlineData(80, 0, "spend-day-80")]
    [InlineData(70, 10, "spend-day-80")] // money held in live leases counts: it can no longer be leased
    [InlineData(99, 0, "spend-day-80")]
    [InlineData(100, 0, "spend-day-100")]
    [InlineData(90, 10, "spend-day-100")]
    public void The_daily_ceiling_alerts_at_80_and_100_percent(long spent, long held, string? expected)
    {
        var figures = new SpendFigures(Day, spent * Usd, 100 * Usd, Month, spent * Usd, 0, held * Usd);

        var alerts = SpendAlerts.Ceiling(figures, Day.AddHours(20));

        Assert.Equal(expected is null ? [] : [expected], alerts.Select(a => a.Name));
        if (expected is not null)
        {
            var alert = alerts[0];
            Assert.Equal(expected.EndsWith("100", StringComparison.Ordinal) ? AlertSeverity.Page : AlertSeverity.Ticket, alert.Severity);
            Assert.Equal((spent + held) / 100.0, alert.Value, 10);
            Assert.Equal(TimeSpan.FromDays(1), alert.Window);
        }
    }

    [Fact]
    public void A_window_whose_money_ran_out_for_a_lease_pages_as_reached()
    {
        var figures = new SpendFigures(Day, 97 * Usd, 100 * Usd, Month, 97 * Usd, 0, 1 * Usd) { DayExhausted = true };

        var alert = Assert.Single(SpendAlerts.Ceiling(figures, Day));

        Assert.Equal(("spend-day-100", AlertSeverity.Page), (alert.Name, alert.Severity));
        Assert.Equal(0.98, alert.Value, 10);
    }

    [Fact]
    public void The_monthly_ceiling_alerts_on_its_own_and_a_window_without_a_ceiling_never_does()
    {
        var figures = new SpendFigures(Day, 5 * Usd, 0, Month, 850 * Usd, 1_000 * Usd, 0);
        var alert = Assert.Single(SpendAlerts.Ceiling(figures, Day));
        Assert.Equal(("spend-month-80", TimeSpan.FromDays(31)), (alert.Name, alert.Window));

        figures = figures with { MonthSpent = 1_000 * Usd };
        Assert.Equal("spend-month-100", Assert.Single(SpendAlerts.Ceiling(figures, Day)).Name);
    }

    [Fact]
    public void Cost_per_successful_request_above_three_times_the_baseline_raises_the_runaway_alert()
    {
        var time = new FakeTimeProvider(Day);
        var runaway = new RunawayCost(new RunawayCostOptions());
        // An hour at $0.01 per request, all successful: the baseline.
        for (var minute = 0; minute < 60; minute++)
        {
            for (var i = 0; i < 10; i++)
            {
                runaway.Record(time.GetUtcNow(), 0.01, success: true);
            }

            time.Advance(TimeSpan.FromMinutes(1));
        }

        Assert.Null(runaway.Evaluate(time.GetUtcNow()));
        Assert.Equal(0.01, runaway.Baseline!.Value, 6);

        // A loop starts re-sending long prompts: each successful request now costs $0.02 (2x, quiet), then $0.035 (3.5x).
        for (var i = 0; i < 30; i++)
        {
            runaway.Record(time.GetUtcNow(), 0.02, success: true);
        }

        Assert.Null(runaway.Evaluate(time.GetUtcNow()));
        time.Advance(TimeSpan.FromMinutes(15));
        for (var i = 0; i < 30; i++)
        {
            runaway.Record(time.GetUtcNow(), 0.035, success: true);
        }

        var alert = runaway.Evaluate(time.GetUtcNow());
        Assert.NotNull(alert);
        Assert.Equal(("cost-runaway", AlertSeverity.Page, 3.0), (alert.Name, alert.Severity, alert.Threshold));
        Assert.True(alert.Value > 3.0, $"ratio {alert.Value}");

        // Failed attempts cost money but serve nobody: $0.01 attempts of which only one in four succeeds are 4x too.
        time.Advance(TimeSpan.FromMinutes(16));
        Assert.Null(runaway.Evaluate(time.GetUtcNow()));
        for (var i = 0; i < 40; i++)
        {
            runaway.Record(time.GetUtcNow(), 0.01, success: i % 4 == 0);
        }

        Assert.Equal("cost-runaway", runaway.Evaluate(time.GetUtcNow())?.Name);
    }

    [Fact]
    public void No_runaway_alert_without_a_baseline_or_with_too_few_recent_attempts_and_the_baseline_survives_a_restore()
    {
        var time = new FakeTimeProvider(Day);
        var runaway = new RunawayCost(new RunawayCostOptions());
        for (var i = 0; i < 40; i++)
        {
            runaway.Record(time.GetUtcNow(), 1.0, success: true);
        }

        Assert.Null(runaway.Evaluate(time.GetUtcNow())); // no baseline yet
        time.Advance(TimeSpan.FromMinutes(20));
        for (var i = 0; i < 20; i++)
        {
            runaway.Record(time.GetUtcNow(), 0.01, success: true);
        }

        time.Advance(TimeSpan.FromMinutes(20));
        Assert.Null(runaway.Evaluate(time.GetUtcNow()));
        var restored = new RunawayCost(new RunawayCostOptions());
        restored.Restore(runaway.Export());
        Assert.Equal(runaway.Baseline, restored.Baseline);
        Assert.NotNull(restored.Baseline);

        for (var i = 0; i < 19; i++)
        {
            restored.Record(time.GetUtcNow(), 10, success: true);
        }

        Assert.Null(restored.Evaluate(time.GetUtcNow())); // 19 attempts: below the 20 the window needs
        restored.Record(time.GetUtcNow(), 10, success: true);
        Assert.NotNull(restored.Evaluate(time.GetUtcNow()));
    }
}
