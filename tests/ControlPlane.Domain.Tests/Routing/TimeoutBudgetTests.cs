using ControlPlane.Domain.Policy;
using ControlPlane.Domain.Routing;

namespace ControlPlane.Domain.Tests.Routing;

public sealed class TimeoutBudgetTests
{
    private readonly Fleet _fleet = new();

    private Router Router() => _fleet.Router(options: new RouterOptions
    {
        TimeoutHeadroom = 1.5,
        TimeoutFloor = TimeSpan.FromSeconds(2),
        TimeoutCeiling = TimeSpan.FromSeconds(120),
        DefaultTimeout = TimeSpan.FromSeconds(60),
    });

    private static readonly EndpointLoad Typical = new() { P50LatencyMs = 400, P95LatencyMs = 900, PerOutputTokenMs = 20 };

    [Fact]
    public void Scales_the_p95_with_the_expected_output_tokens()
    {
        // 1.5 * (900 + 20 * 1,000) = 31,350 ms
        Assert.Equal(TimeSpan.FromMilliseconds(31_350), Router().TimeoutBudget(Typical, 1_000, null));
        Assert.Equal(TimeSpan.FromMilliseconds(1.5 * (900 + (20 * 100))), Router().TimeoutBudget(Typical, 100, null));
    }

    [Fact]
    public void Never_goes_below_the_floor_nor_above_the_ceiling()
    {
        Assert.Equal(TimeSpan.FromSeconds(2), Router().TimeoutBudget(Typical, 10, null));
        Assert.Equal(TimeSpan.FromSeconds(120), Router().TimeoutBudget(Typical, 100_000, null));
    }

    [Fact]
    public void Is_capped_by_the_remaining_deadline_even_below_the_floor()
    {
        Assert.Equal(TimeSpan.FromSeconds(10), Router().TimeoutBudget(Typical, 1_000, TimeSpan.FromSeconds(10)));
        Assert.Equal(TimeSpan.FromMilliseconds(500), Router().TimeoutBudget(Typical, 10, TimeSpan.FromMilliseconds(500)));
        Assert.Equal(TimeSpan.FromMilliseconds(31_350), Router().TimeoutBudget(Typical, 1_000, TimeSpan.FromMinutes(5)));
        Assert.Equal(TimeSpan.Zero, Router().TimeoutBudget(Typical, 1_000, TimeSpan.FromSeconds(-1)));
    }

    [Fact]
    public void Uses_the_default_until_the_endpoint_has_latency_figures()
    {
        Assert.Equal(TimeSpan.FromSeconds(60), Router().TimeoutBudget(default, 1_000, null));
        Assert.Equal(TimeSpan.FromSeconds(3), Router().TimeoutBudget(default, 1_000, TimeSpan.FromSeconds(3)));
    }

    [Fact]
    public void The_decision_carries_the_budget_of_the_chosen_endpoint()
    {
        _fleet.Add("openai-a");
        var snapshot = _fleet.Snapshot(new WorkloadClassPolicy { Name = "chat", Primary = ["openai-a"] });
        snapshot.SetLoad(0, Typical);

        var decision = Router().Route(snapshot, "chat", maxOutput: 1_000, deadline: TimeSpan.FromSeconds(20)).Decision;

        Assert.Equal(TimeSpan.FromSeconds(20), decision.Timeout);
    }

    [Theory]
    [InlineData("degradedWeight")]
    [InlineData("errorPenalty")]
    [InlineData("timeoutHeadroom")]
    [InlineData("timeoutFloor")]
    [InlineData("timeoutCeiling")]
    [InlineData("defaultTimeout")]
    public void Invalid_options_name_the_field(string field)
    {
        var options = field switch
        {
            "degradedWeight" => new RouterOptions { DegradedWeight = 2 },
            "errorPenalty" => new RouterOptions { ErrorPenalty = -1 },
            "timeoutHeadroom" => new RouterOptions { TimeoutHeadroom = 0.5 },
            "timeoutFloor" => new RouterOptions { TimeoutFloor = TimeSpan.FromMilliseconds(1) },
            "timeoutCeiling" => new RouterOptions { TimeoutCeiling = TimeSpan.FromHours(2) },
            "defaultTimeout" => new RouterOptions { DefaultTimeout = TimeSpan.FromSeconds(1) },
            _ => throw new ArgumentOutOfRangeException(nameof(field)),
        };

        var e = Assert.Throws<ArgumentException>(options.Validate);
        Assert.StartsWith(field + ":", e.Message, StringComparison.Ordinal);
    }
}
