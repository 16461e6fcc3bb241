using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using ControlPlane.Proxy.Tests.Support;

namespace ControlPlane.Proxy.Tests;

/// <summary>The proxy's JSON path against the real simulator and a real node: the primary, the fallback walk through Route, the
/// error when every approved endpoint fails; each proven by the node's own view of the reported outcomes.</summary>
public sealed class RoutingTests
{
    [Fact]
    public async Task Routes_to_the_primary_translates_anthropic_and_reports_the_outcome()
    {
        await using var stack = await ProxyStack.StartAsync();
        const string prompt = "What is the capital of France?";
        using var response = await stack.Http.SendAsync(ProxyStack.Chat("internal_copilot", prompt));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("anthropic-sonnet-us", ProxyHttp.Header(response, "x-controlplane-endpoint"));
        Assert.Equal("primary", ProxyHttp.Header(response, "x-controlplane-route-reason"));
        Assert.Equal("1", ProxyHttp.Header(response, "x-controlplane-attempts"));
        Assert.NotEmpty(ProxyHttp.Header(response, "x-controlplane-decision-id"));
        // The Anthropic messages answer came back in the OpenAI chat.completion shape.
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("chat.completion", body.GetProperty("object").GetString());
        Assert.Equal("claude-sonnet-4-20250514", body.GetProperty("model").GetString());
        var content = body.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()!;
        Assert.Contains(ProxyStack.Expected(prompt), content, StringComparison.Ordinal);
        Assert.True(body.GetProperty("usage").GetProperty("completion_tokens").GetInt64() > 0);

        var endpoint = await stack.EndpointUntilAsync("anthropic-sonnet-us", e => ProxyStack.Health(e, "successes") >= 1);
        Assert.Equal(1, ProxyStack.Health(endpoint, "successes"));
        Assert.Equal(0, ProxyStack.Health(endpoint, "failures"));
    }

    [Fact]
    public async Task An_outage_on_the_primary_is_answered_by_a_fallback_and_both_attempts_are_reported()
    {
        await using var stack = await ProxyStack.StartAsync();
        await stack.FaultAsync(new { endpoint = "anthropic-sonnet-us", kind = "outage", mode = "http_500" });
        const string prompt = "Summarise the incident.";
        using var response = await stack.Http.SendAsync(ProxyStack.Chat("internal_copilot", prompt));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("openai-gpt41-us", ProxyHttp.Header(response, "x-controlplane-endpoint"));
        Assert.Equal("fallback_after_error", ProxyHttp.Header(response, "x-controlplane-route-reason"));
        Assert.Equal("2", ProxyHttp.Header(response, "x-controlplane-attempts"));
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("gpt-4.1-2025-04-14", body.GetProperty("model").GetString());
        Assert.Contains(ProxyStack.Expected(prompt), body.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString(), StringComparison.Ordinal);

        // The node counted both attempts: the primary's 500 as a failure, the fallback's answer as a success.
        var primary = await stack.EndpointUntilAsync("anthropic-sonnet-us", e => ProxyStack.Health(e, "failures") >= 1);
        Assert.Equal(1, ProxyStack.Health(primary, "failures"));
        Assert.Equal(0, ProxyStack.Health(primary, "successes"));
        var fallback = await stack.EndpointUntilAsync("openai-gpt41-us", e => ProxyStack.Health(e, "successes") >= 1);
        Assert.Equal(1, ProxyStack.Health(fallback, "successes"));
    }

    [Fact]
    public async Task When_every_approved_endpoint_fails_the_answer_is_an_openai_error_naming_the_last_attempt()
    {
        await using var stack = await ProxyStack.StartAsync();
        foreach (var id in new[] { "anthropic-sonnet-us", "openai-gpt41-us", "selfhosted-llama-eu" })
        {
            await stack.FaultAsync(new { endpoint = id, kind = "outage", mode = "refused" });
        }

        using var response = await stack.Http.SendAsync(ProxyStack.Chat("internal_copilot", "hello"));

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Equal("3", ProxyHttp.Header(response, "x-controlplane-attempts"));
        Assert.Equal("selfhosted-llama-eu", ProxyHttp.Header(response, "x-controlplane-endpoint"));
        var error = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error");
        Assert.Equal("connection_error", error.GetProperty("code").GetString());
        var last = await stack.EndpointUntilAsync("selfhosted-llama-eu", e => ProxyStack.Health(e, "failures") >= 1);
        Assert.Equal(1, ProxyStack.Health(last, "failures"));
    }
}
