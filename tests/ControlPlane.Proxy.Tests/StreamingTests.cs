using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using ControlPlane.Proxy.Tests.Support;
using ControlPlane.Simulator;
using Microsoft.Extensions.Time.Testing;

namespace ControlPlane.Proxy.Tests;

/// <summary>Streaming through the proxy: an OpenAI upstream's events pass through byte for byte, an Anthropic stream is
/// translated into chunks with usage, a failure before the first byte falls back, one after it cannot.</summary>
public sealed class StreamingTests
{
    [Fact]
    public async Task An_openai_stream_passes_through_byte_for_byte()
    {
        // Two simulators with the same seed and the same frozen clock answer their first request identically: one
        // behind the proxy, one called directly with the body the proxy sends upstream.
        var start = new DateTimeOffset(2026, 12, 6, 12, 0, 0, TimeSpan.Zero);
        await using var stack = await ProxyStack.StartAsync(configureSimulator: o => o.TimeProvider = new FakeTimeProvider(start));
        await using var twin = await SimulatorHost.StartAsync(
            new SimulatorOptions { FleetPath = Server.FleetLocator.Resolve(null), Seed = 7, LatencyScale = 0, TimeProvider = new FakeTimeProvider(start) },
            CancellationToken.None);
        const string prompt = "Click the blue button.";

        using var proxied = await stack.Http.SendAsync(ProxyStack.Chat("browser_agent", prompt, stream: true), HttpCompletionOption.ResponseHeadersRead);
        var viaProxy = await proxied.Content.ReadAsByteArrayAsync();
        using var direct = new HttpClient();
        var upstreamBody = JsonSerializer.Serialize(new
        {
            messages = new[] { new { role = "user", content = prompt } },
            max_tokens = 64,
            model = "gpt-4.1",
            stream = true,
            stream_options = new { include_usage = true },
        });
        using var directResponse = await direct.PostAsync(new Uri(twin.EndpointUris["openai-gpt41-us"], "v1/chat/completions"),
            new StringContent(upstreamBody, Encoding.UTF8, "application/json"));
        var straight = await directResponse.Content.ReadAsByteArrayAsync();

        Assert.Equal(HttpStatusCode.OK, proxied.StatusCode);
        Assert.Equal("openai-gpt41-us", ProxyHttp.Header(proxied, "x-controlplane-endpoint"));
        Assert.Equal("text/event-stream", proxied.Content.Headers.ContentType?.MediaType);
        Assert.Contains(ProxyStack.Expected(prompt), Encoding.UTF8.GetString(straight), StringComparison.Ordinal);
        Assert.Equal(Encoding.UTF8.GetString(straight), Encoding.UTF8.GetString(viaProxy));
        Assert.Equal(straight, viaProxy);
    }

    [Fact]
    public async Task An_anthropic_stream_is_translated_into_chunks_with_usage_and_done()
    {
        await using var stack = await ProxyStack.StartAsync();
        const string prompt = "Explain the stack trace.";

        using var response = await stack.Http.SendAsync(ProxyStack.Chat("internal_copilot", prompt, stream: true, expect: ProxyStack.Expected(prompt)),
            HttpCompletionOption.ResponseHeadersRead);
        var events = await ReadEventsAsync(response);

        Assert.Equal("anthropic-sonnet-us", ProxyHttp.Header(response, "x-controlplane-endpoint"));
        Assert.Equal("[DONE]", events[^1]);
        var chunks = events.SkipLast(1).Select(e => JsonDocument.Parse(e).RootElement).ToList();
        Assert.All(chunks, c => Assert.Equal("chat.completion.chunk", c.GetProperty("object").GetString()));
        Assert.All(chunks, c => Assert.Equal("claude-sonnet-4-20250514", c.GetProperty("model").GetString()));
        var content = string.Concat(chunks.SelectMany(c => c.GetProperty("choices").EnumerateArray())
            .Select(c => c.GetProperty("delta").TryGetProperty("content", out var text) ? text.GetString() : null));
        Assert.Contains(ProxyStack.Expected(prompt), content, StringComparison.Ordinal);
        // Anthropic's stop_reason (end_turn, or max_tokens at the request's 64) as OpenAI's finish_reason.
        Assert.Contains(chunks.SelectMany(c => c.GetProperty("choices").EnumerateArray())
            .Select(c => c.GetProperty("finish_reason")).Last(f => f.ValueKind == JsonValueKind.String).GetString(), new[] { "stop", "length" });
        Assert.True(chunks[^1].GetProperty("usage").GetProperty("completion_tokens").GetInt64() > 0);

        // The graded stream is reported: a success with a passing verdict.
        var endpoint = await stack.EndpointUntilAsync("anthropic-sonnet-us", e => ProxyStack.Health(e, "successes") >= 1);
        Assert.Equal(1.0, endpoint.GetProperty("health").GetProperty("qualityPassRate").GetDouble());
    }

    [Fact]
    public async Task A_stream_that_fails_before_its_first_byte_falls_back()
    {
        await using var stack = await ProxyStack.StartAsync();
        await stack.FaultAsync(new { endpoint = "anthropic-sonnet-us", kind = "outage", mode = "http_503" });
        const string prompt = "Refactor this method.";

        using var response = await stack.Http.SendAsync(ProxyStack.Chat("internal_copilot", prompt, stream: true), HttpCompletionOption.ResponseHeadersRead);
        var events = await ReadEventsAsync(response);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("openai-gpt41-us", ProxyHttp.Header(response, "x-controlplane-endpoint"));
        Assert.Equal("2", ProxyHttp.Header(response, "x-controlplane-attempts"));
        Assert.Equal("[DONE]", events[^1]);
        Assert.Contains(ProxyStack.Expected(prompt), string.Concat(events), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_stream_reset_after_its_first_bytes_ends_with_an_error_event_and_is_not_retried()
    {
        await using var stack = await ProxyStack.StartAsync();
        await stack.FaultAsync(new { endpoint = "anthropic-sonnet-us", kind = "outage", mode = "reset_mid_stream" });

        using var response = await stack.Http.SendAsync(ProxyStack.Chat("internal_copilot", "Write the release notes.", stream: true),
            HttpCompletionOption.ResponseHeadersRead);
        var events = await ReadEventsAsync(response);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("1", ProxyHttp.Header(response, "x-controlplane-attempts"));
        Assert.True(events.Count >= 2);
        Assert.DoesNotContain("[DONE]", events);
        var error = JsonDocument.Parse(events[^1]).RootElement.GetProperty("error");
        Assert.Equal("connection_error", error.GetProperty("code").GetString());

        // Reported once, as the primary's failure; the fallback was never called.
        var primary = await stack.EndpointUntilAsync("anthropic-sonnet-us", e => ProxyStack.Health(e, "failures") >= 1);
        Assert.Equal(1, ProxyStack.Health(primary, "failures"));
        var simulated = JsonDocument.Parse(await stack.SimAdmin.GetStringAsync("sim/v1/stats")).RootElement.GetProperty("endpoints");
        Assert.Equal(1, simulated.GetProperty("anthropic-sonnet-us").GetProperty("requests").GetInt64());
        Assert.Equal(0, simulated.GetProperty("openai-gpt41-us").GetProperty("requests").GetInt64());
        Assert.Equal(0, ProxyStack.Health(await stack.EndpointUntilAsync("openai-gpt41-us", _ => true), "requests"));
    }

    [Fact]
    public async Task A_half_open_probe_cut_mid_stream_is_held_back_and_the_caller_gets_the_fallbacks_whole_answer()
    {
        await using var stack = await ProxyStack.StartAsync(configureControlPlane: o =>
        {
            o.Health.Breaker.Cooldown = TimeSpan.FromSeconds(1);
            o.Health.Breaker.MaxCooldown = TimeSpan.FromSeconds(1);
        });
        await stack.FaultAsync(new { endpoint = "anthropic-sonnet-us", kind = "outage", mode = "reset_mid_stream" });

        // Streams cut mid-answer open the primary's breaker (these callers get an error event: nothing can save them).
        using (var trip = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
        {
            while (BreakerState(await stack.EndpointUntilAsync("anthropic-sonnet-us", _ => true)) != "open")
            {
                trip.Token.ThrowIfCancellationRequested();
                using var cut = await stack.Http.SendAsync(ProxyStack.Chat("internal_copilot", "Write the release notes.", stream: true),
                    HttpCompletionOption.ResponseHeadersRead, trip.Token);
                await cut.Content.ReadAsStringAsync(trip.Token);
            }
        }

        // After the cooldown Route sends a half-open probe to the primary, still resetting mid-stream. The probe is held
        // back, so its caller gets the fallback's whole answer on a second attempt; no caller gets a cut answer.
        var probedBefore = SimulatedRequests(await stack.SimAdmin.GetStringAsync("sim/v1/stats"), "anthropic-sonnet-us");
        var answers = new List<(string Attempts, string Endpoint, bool Whole)>();
        var until = DateTime.UtcNow.AddSeconds(30);
        while (!answers.Any(a => a.Attempts == "2") && DateTime.UtcNow < until)
        {
            const string prompt = "Summarise the incident.";
            using var response = await stack.Http.SendAsync(ProxyStack.Chat("internal_copilot", prompt, stream: true), HttpCompletionOption.ResponseHeadersRead);
            var events = await ReadEventsAsync(response);
            answers.Add((ProxyHttp.Header(response, "x-controlplane-attempts"), ProxyHttp.Header(response, "x-controlplane-endpoint"),
                events.Count > 0 && events[^1] == "[DONE]" && string.Concat(events).Contains(ProxyStack.Expected(prompt), StringComparison.Ordinal)));
            await Task.Delay(100);
        }

        Assert.All(answers, a => Assert.True(a.Whole, $"a cut answer after the trip: attempts {a.Attempts}, endpoint {a.Endpoint}"));
        Assert.Contains(answers, a => a.Attempts == "2" && a.Endpoint == "openai-gpt41-us");
        Assert.True(SimulatedRequests(await stack.SimAdmin.GetStringAsync("sim/v1/stats"), "anthropic-sonnet-us") > probedBefore,
            "the probe reached the primary");
        // The failed probe was reported: the breaker is open again.
        var primary = await stack.EndpointUntilAsync("anthropic-sonnet-us", e => BreakerState(e) == "open");
        Assert.Equal("open", BreakerState(primary));
    }

    private static string? BreakerState(JsonElement endpoint) => endpoint.GetProperty("breaker").GetProperty("state").GetString();

    private static long SimulatedRequests(string stats, string endpoint) =>
        JsonDocument.Parse(stats).RootElement.GetProperty("endpoints").GetProperty(endpoint).GetProperty("requests").GetInt64();

    /// <summary>The data payloads of a server-sent-event body, in order.</summary>
    private static async Task<List<string>> ReadEventsAsync(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        return [.. text.Split("\n\n", StringSplitOptions.RemoveEmptyEntries)
            .SelectMany(e => e.Split('\n'))
            .Where(line => line.StartsWith("data: ", StringComparison.Ordinal))
            .Select(line => line["data: ".Length..])];
    }
}
