using ControlPlane.Domain.Quotas;
using static ControlPlane.Fleet.Tests.FleetYaml;

namespace ControlPlane.Fleet.Tests;

/// <summary><c>budget: { usd_per_day, usd_per_month }</c>: a class's spend ceilings, checked like every other field.</summary>
public sealed class SpendCeilingConfigTests
{
    [Fact]
    public void The_budget_takes_daily_and_monthly_ceilings_in_usd_beside_the_token_budget()
    {
        var fleet = Load(With((35, "    budget: { tokens_per_minute: 500000, requests_per_minute: 2000, usd_per_day: 1_500, usd_per_month: 30000.50 }")));

        var chat = fleet.Classes.Single(c => c.Name == "chat").Policy;
        Assert.Equal(new SpendCeiling { UsdPerDay = 1_500m, UsdPerMonth = 30_000.50m }, chat.Spend);
        Assert.Equal(QuotaLimits.PerMinute(500_000, 2_000), chat.Budget);
        Assert.Equal(1_500 * SpendUnits.NanosPerUsd, chat.Spend!.DayNanos);
        Assert.Null(fleet.Classes.Single(c => c.Name == "legal").Policy.Spend);

        var dayOnly = Load(With((35, "    budget: { usd_per_day: 10 }"))).Classes.Single(c => c.Name == "chat").Policy;
        Assert.Equal(new SpendCeiling { UsdPerDay = 10 }, dayOnly.Spend);
        Assert.Null(Load(Base).Classes.Single(c => c.Name == "chat").Policy.Spend);
    }

    [Fact]
    public void The_sample_fleet_caps_the_copilot_and_the_batch_jobs()
    {
        var sample = FleetLoader.LoadFile(FleetSampleTests.SamplePath);
        var spend = sample.Classes.Where(c => c.Policy.Spend is not null).ToDictionary(c => c.Name, c => c.Policy.Spend!);

        Assert.Equal(new SpendCeiling { UsdPerDay = 1_500, UsdPerMonth = 30_000 }, spend["internal_copilot"]);
        Assert.Equal(new SpendCeiling { UsdPerDay = 400, UsdPerMonth = 8_000 }, spend["batch_classification"]);
        Assert.Equal(2, spend.Count);
    }

    [Fact]
    public void Bad_ceilings_are_reported_at_their_line_and_column()
    {
        string negative = "    budget: { usd_per_day: -1, usd_per_month: 30000 }";
        Assert.Equal(
            $"test.yaml:35:{Col(negative, "-1")}: classes.chat.budget.usd_per_day: must be between 0 and 1000000000",
            Assert.Single(Errors(With((35, negative)))).ToString());

        string huge = "    budget: { usd_per_day: 1, usd_per_month: 1e12 }";
        Assert.Equal(
            $"test.yaml:35:{Col(huge, "1e12")}: classes.chat.budget.usd_per_month: must be between 0 and 1000000000",
            Assert.Single(Errors(With((35, huge)))).ToString());

        string text = "    budget: { usd_per_day: lots }";
        Assert.Equal(
            $"test.yaml:35:{Col(text, "lots")}: classes.chat.budget.usd_per_day: expected a number, got 'lots'",
            Assert.Single(Errors(With((35, text)))).ToString());

        string typo = "    budget: { usd_per_dya: 5 }";
        Assert.StartsWith(
            $"test.yaml:35:{Col(typo, "usd_per_dya")}: classes.chat.budget.usd_per_dya: unknown key; did you mean 'usd_per_day'?",
            Assert.Single(Errors(With((35, typo)))).ToString(), StringComparison.Ordinal);
    }
}
