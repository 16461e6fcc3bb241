using Microsoft.Extensions.Time.Testing;

namespace ControlPlane.Prober.Tests;

/// <summary>The hourly token budget: a probe starts only when its worst case fits, actual cost is charged, and the next
/// UTC hour starts afresh.</summary>
public sealed class ProbeBudgetTests
{
    [Fact]
    public void Reservations_stop_at_the_hours_budget_and_the_next_hour_starts_afresh()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 6, 10, 0, 0, TimeSpan.Zero));
        var budget = new ProbeBudget(100, time);
        Assert.True(budget.TryReserve(60));
        Assert.False(budget.TryReserve(60));
        budget.Settle(60, 30);
        Assert.Equal(30, budget.SpentThisHour);
        Assert.True(budget.TryReserve(60));
        budget.Settle(60, 60);
        Assert.False(budget.TryReserve(20));
        Assert.Equal(90, budget.SpentThisHour);

        time.Advance(TimeSpan.FromHours(1));
        Assert.Equal(0, budget.SpentThisHour);
        Assert.True(budget.TryReserve(100));
    }

    [Fact]
    public void The_command_line_is_parsed_and_bounded()
    {
        var options = Program.Parse(["--control-plane", "http://127.0.0.1:5000", "--upstreams", "u.json", "--interval", "30s",
            "--open-interval", "1s", "--max-tokens-per-probe", "32", "--budget-tokens-per-hour", "1000"], _ => "cpk_x");
        Assert.Equal((TimeSpan.FromSeconds(30), 32, 1000L, "cpk_x"), (options.Interval, options.MaxTokensPerProbe, options.BudgetTokensPerHour, options.Credential));

        Assert.Contains("--open-interval", Assert.Throws<ArgumentException>(() => Program.Parse(
            ["--control-plane", "http://127.0.0.1:5000", "--upstreams", "u.json", "--open-interval", "500ms"], _ => "k")).Message, StringComparison.Ordinal);
        Assert.Contains("--max-tokens-per-probe", Assert.Throws<ArgumentException>(() => Program.Parse(
            ["--control-plane", "http://127.0.0.1:5000", "--upstreams", "u.json", "--max-tokens-per-probe", "0"], _ => "k")).Message, StringComparison.Ordinal);
        Assert.Contains("CONTROLPLANE_PROBER_CREDENTIAL", Assert.Throws<ArgumentException>(() => Program.Parse(
            ["--control-plane", "http://127.0.0.1:5000", "--upstreams", "u.json"], _ => null)).Message, StringComparison.Ordinal);
        Assert.Contains("--listen", Assert.Throws<ArgumentException>(() => Program.Parse(
            ["--control-plane", "http://127.0.0.1:5000", "--upstreams", "u.json", "--listen", "0.0.0.0:9000"], _ => "k")).Message, StringComparison.Ordinal);
    }
}
