using ControlPlane.Service.Tests.Support;
using Microsoft.Extensions.Time.Testing;
using Wire = ControlPlane.Contracts.V1;

namespace ControlPlane.Service.Tests.DataPlane;

/// <summary>The decision's timeout follows the expected output length: the endpoint grain publishes its time per output
/// token (and time to first token) from reported outcomes, and the node's Route budgets each request by its
/// <c>max_output_tokens</c>, never past the caller's deadline.</summary>
public sealed class AdaptiveTimeoutTests : IDisposable
{
    private const string Fleet = """
        endpoints:
          - id: gen
            provider: vllm
            model: llama
            model_version: llama-3.1-70b
            region: eu-west
            context_window: 128000
            price_per_1k: { input: 0, output: 0 }
            owner_team: t
            on_call: t
        classes:
          - name: chat
            owner: t
            mode: fail
            primary: [gen]
            slo: { availability: 0.99 }
        """;

    private readonly FakeTimeProvider _time = new();
    private readonly TestStorage _storage = new();

    private static Wire.RouteRequest Request(long maxOutput, long deadlineMs = 0) =>
        new() { WorkloadClass = "chat", EstimatedInputTokens = 500, MaxOutputTokens = maxOutput, DeadlineMs = deadlineMs };

    [Fact]
    public async Task A_10_token_and_a_4000_token_request_get_budgets_from_the_observed_pace_capped_by_the_deadline()
    {
        await using var node = await ServiceNode.StartAsync(_time, _storage, ServiceNode.Fleet(Fleet));
        var before = node.Node.Route(Request(4_000), null).TimeoutMs;
        Assert.Equal(node.Node.Route(Request(10), null).TimeoutMs, before); // no figures yet: the default for both

        // Streamed answers: 500 ms to the first token, then 20 ms a token.
        for (var i = 0; i < 40; i++)
        {
            node.Node.Report(new Wire.Outcome
            {
                EndpointId = "gen",
                WorkloadClass = "chat",
                Status = Wire.OutcomeStatus.Success,
                LatencyMs = 500 + (20 * 100),
                TtftMs = 500,
                InputTokens = 500,
                OutputTokens = 100,
            });
        }

        _time.Advance(TimeSpan.FromMilliseconds(50));
        await WaitAsync(async () => (await node.Admin.GetEndpointAsync("gen")).Health.Requests, n => n == 40);
        // The next evaluation publishes the load figures to the node.
        _time.Advance(TimeSpan.FromSeconds(10));
        var longOne = await WaitAsync(() => Task.FromResult(node.Node.Route(Request(4_000), null).TimeoutMs), t => t != before);

        // headroom 1.5 x (ttft 500 ms + 20 ms x tokens), within the histograms' 1/64 error.
        Assert.InRange(longOne, 1.5 * (500 + (20 * 4_000)) * (1 - (1 / 32.0)), 1.5 * (500 + (20 * 4_000)) * (1 + (1 / 32.0)));
        Assert.Equal(2_000, node.Node.Route(Request(10), null).TimeoutMs); // 1.5 x (500 + 200) = 1,050 ms: the 2 s floor
        Assert.InRange(node.Node.Route(Request(1_000), null).TimeoutMs, 30_000, 32_500);
        // Output length unknown: the whole request's p95 (2.5 s), not the first token's.
        Assert.InRange(node.Node.Route(Request(0), null).TimeoutMs, 3_690, 3_810);

        // The caller's deadline caps both.
        Assert.Equal(60_000, node.Node.Route(Request(4_000, deadlineMs: 60_000), null).TimeoutMs);
        Assert.Equal(2_000, node.Node.Route(Request(10, deadlineMs: 60_000), null).TimeoutMs);
        Assert.Equal(1_500, node.Node.Route(Request(10, deadlineMs: 1_500), null).TimeoutMs);
        Assert.Equal(5_000, node.Node.Route(Request(4_000), TimeSpan.FromSeconds(5)).TimeoutMs);

        var details = await node.Admin.GetEndpointAsync("gen");
        Assert.InRange(details.PerOutputTokenMs!.Value, 19.5, 20.5);
    }

    private static Task<T> WaitAsync<T>(Func<Task<T>> read, Func<T, bool> done) => Eventually.WaitAsync(read, done, 1000);

    public void Dispose() => _storage.Dispose();
}
