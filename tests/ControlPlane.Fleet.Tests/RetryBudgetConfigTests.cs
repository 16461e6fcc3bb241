using static ControlPlane.Fleet.Tests.FleetYaml;

namespace ControlPlane.Fleet.Tests;

/// <summary>The class's optional <c>retry_budget</c>: defaults when absent, strict ranges with file:line:column.</summary>
public sealed class RetryBudgetConfigTests
{
    [Fact]
    public void A_class_without_retry_budget_gets_the_documented_default()
    {
        var fleet = Load(Base);

        Assert.True(fleet.TryGetClass("chat", out var chat));
        Assert.Same(RetryBudgetTargets.Default, chat.RetryBudget);
        Assert.Equal((0.2, 5.0, TimeSpan.FromSeconds(10)), (chat.RetryBudget.Ratio, chat.RetryBudget.MinPerSecond, chat.RetryBudget.Window));
    }

    [Fact]
    public void A_retry_budget_is_read_and_omitted_fields_keep_their_defaults()
    {
        var fleet = Load(With((35, "    retry_budget: { ratio: 0.1, min_per_second: 2.5 }"), (42, "    slo: { availability: 0.99 }\n    retry_budget: { window_seconds: 30 }")));

        Assert.True(fleet.TryGetClass("chat", out var chat));
        Assert.Equal((0.1, 2.5, TimeSpan.FromSeconds(10)), (chat.RetryBudget.Ratio, chat.RetryBudget.MinPerSecond, chat.RetryBudget.Window));
        Assert.True(fleet.TryGetClass("legal", out var legal));
        Assert.Equal((0.2, 5.0, TimeSpan.FromSeconds(30)), (legal.RetryBudget.Ratio, legal.RetryBudget.MinPerSecond, legal.RetryBudget.Window));
    }

    [Fact]
    public void Retry_budget_fields_are_range_checked_typed_and_closed()
    {
        string chat = "    retry_budget: { ratio: 11, min_per_second: -1, window_seconds: 0, burst: 3 }";
        string legal = "    retry_budget: { ratio: lots }";
        var errors = Errors(With((35, chat), (42, "    slo: { availability: 0.99 }\n" + legal)));

        Assert.Equal(
            [
                $"test.yaml:35:{Col(chat, "11")}: classes.chat.retry_budget.ratio: must be between 0 and 10, got 11",
                $"test.yaml:35:{Col(chat, "-1")}: classes.chat.retry_budget.min_per_second: must be between 0 and 100000, got -1",
                $"test.yaml:35:{Col(chat, "0,")}: classes.chat.retry_budget.window_seconds: must be between 1 and 300 seconds, got 0",
                $"test.yaml:35:{Col(chat, "burst")}: classes.chat.retry_budget.burst: unknown key; expected one of ratio, min_per_second, window_seconds",
                $"test.yaml:43:{Col(legal, "lots")}: classes.legal.retry_budget.ratio: expected a number, got 'lots'",
            ],
            errors.Select(e => e.ToString()));
    }
}
