using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using ControlPlane.Proxy.Tests.Support;

namespace ControlPlane.Proxy.Tests;

/// <summary>The grader (X-ControlPlane-Expect) and the caller's deadline (X-ControlPlane-Deadline-Ms).</summary>
public sealed class GradingAndDeadlineTests
{
    [Fact]
    public async Task The_graders_verdict_is_returned_and_reported_to_the_node()
    {
        await using var stack = await ProxyStack.StartAsync();
        const string prompt = "Classify this ticket.";
        using (var good = await stack.Http.SendAsync(ProxyStack.Chat("internal_copilot", prompt, expect: ProxyStack.Expected(prompt))))
        {
            Assert.Equal(HttpStatusCode.OK, good.StatusCode);
            Assert.Equal("pass", ProxyHttp.Header(good, "x-controlplane-quality"));
        }

        await stack.FaultAsync(new { endpoint = "anthropic-sonnet-us", kind = "quality_drift" });
        using (var drifted = await stack.Http.SendAsync(ProxyStack.Chat("internal_copilot", prompt, expect: ProxyStack.Expected(prompt))))
        {
            Assert.Equal(HttpStatusCode.OK, drifted.StatusCode);
            Assert.Equal("fail", ProxyHttp.Header(drifted, "x-controlplane-quality"));
            var content = (await drifted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString();
            Assert.Contains(ProxyStack.Drifted(prompt), content, StringComparison.Ordinal);
        }

        // One pass and one fail reached the endpoint's quality window.
        var endpoint = await stack.EndpointUntilAsync("anthropic-sonnet-us",
            e => ProxyStack.Health(e, "successes") >= 2 && e.GetProperty("health").GetProperty("qualityPassRate").GetDouble() < 1);
        Assert.Equal(0.5, endpoint.GetProperty("health").GetProperty("qualityPassRate").GetDouble(), 3);
    }

    [Fact]
    public async Task The_callers_deadline_bounds_all_attempts_and_a_timeout_is_504()
    {
        await using var stack = await ProxyStack.StartAsync(latencyScale: 1);
        // Ten times slower than usual: seconds before the first token.
        await stack.FaultAsync(new { endpoint = "anthropic-sonnet-us", kind = "latency", factor = 10 });
        await stack.FaultAsync(new { endpoint = "openai-gpt41-us", kind = "latency", factor = 10 });
        await stack.FaultAsync(new { endpoint = "selfhosted-llama-eu", kind = "latency", factor = 10 });
        using (var warm = await stack.Http.SendAsync(ProxyStack.Chat("no_such_class", "warm up")))
        {
            Assert.Equal(HttpStatusCode.BadRequest, warm.StatusCode); // connections and first-call costs out of the timing
        }

        var clock = Stopwatch.StartNew();
        using var response = await stack.Http.SendAsync(ProxyStack.Chat("internal_copilot", "slow", deadlineMs: 400));
        clock.Stop();

        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        Assert.InRange(clock.ElapsedMilliseconds, 300, 2_500);
        var endpoint = await stack.EndpointUntilAsync("anthropic-sonnet-us", e => ProxyStack.Health(e, "requests") >= 1);
        Assert.Equal(1, ProxyStack.Health(endpoint, "failures")); // the timeout was reported as the endpoint's failure
    }
}
