using ControlPlane.Domain.Routing;

namespace ControlPlane.Domain.Tests.Routing;

public sealed class TimeoutBudgetOutputLengthTests
{
    private readonly Router _router = new Fleet().Router(options: new RouterOptions());

    // Streamed: 500 ms to the first token (p95), 20 ms a token, 2.5 s for a whole typical request.
    private static readonly EndpointLoad Streamed = new() { P50LatencyMs = 400, P95LatencyMs = 500, PerOutputTokenMs = 20, P95RequestLatencyMs = 2_500 };

    [Fact]
    public void The_budget_grows_with_the_expected_output_length()
    {
        Assert.Equal(TimeSpan.FromSeconds(2), _router.TimeoutBudget(Streamed, 10, null)); // 1.5 x 700 ms: the floor
        Assert.Equal(TimeSpan.FromMilliseconds(1.5 * (500 + (20 * 4_000))), _router.TimeoutBudget(Streamed, 4_000, null));
        Assert.Equal(TimeSpan.FromSeconds(60), _router.TimeoutBudget(Streamed, 4_000, TimeSpan.FromSeconds(60)));
    }

    [Fact]
    public void Without_max_output_tokens_the_whole_requests_p95_is_the_base_not_the_first_token_time()
    {
        Assert.Equal(TimeSpan.FromMilliseconds(3_750), _router.TimeoutBudget(Streamed, 0, null));
        // Figures published before the whole-request p95 existed: as before.
        Assert.Equal(TimeSpan.FromSeconds(2), _router.TimeoutBudget(Streamed with { P95RequestLatencyMs = 0 }, 0, null));
    }
}
