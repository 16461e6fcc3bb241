using System.Diagnostics;
using System.Net;
using System.Text.Json;
using ControlPlane.Simulator.Generation;
using ControlPlane.Simulator.Scenario;
using ControlPlane.Simulator.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace ControlPlane.Simulator.Tests.Faults;

/// <summary>Each fault kind other than outages, over real HTTP.</summary>
public sealed class FaultKindTests
{
    [Fact]
    public async Task RateLimitStormAnswers429WithRetryAfter()
    {
        await using var run = await SimRun.StartAsync();
        await run.PostFaultAsync(new { endpoint = "ep-openai", kind = "rate_limit", retry_after = "7s" });
        using var response = await run.PostAsync("ep-openai", SimRun.ChatBody("hi"));
        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(7), response.Headers.RetryAfter!.Delta);
        var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error");
        Assert.Equal("rate_limit_exceeded", error.GetProperty("code").GetString());
        Assert.Equal(1, (await run.StatsAsync("ep-openai")).GetProperty("by_status").GetProperty("429").GetInt64());
    }

    [Fact]
    public async Task RateLimitTpmAnswersUntilTheMinutesTokensPassTheLimitThenUntilTheNextMinute()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 6, 12, 0, 15, TimeSpan.Zero));
        await using var run = await SimRun.StartAsync(configure: o => o.TimeProvider = time);
        await run.PostFaultAsync(new { endpoint = "ep-openai", kind = "rate_limit", tpm = 100 });

        // The first answer uses more than 100 tokens (104 in, at least 8 out): the minute is spent after it.
        await run.ChatAsync("ep-openai", new string('p', 400));
        using (var limited = await run.PostAsync("ep-openai", SimRun.ChatBody("again")))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
            Assert.Equal(TimeSpan.FromSeconds(45), limited.Headers.RetryAfter!.Delta);
        }

        time.Advance(TimeSpan.FromSeconds(46));
        await run.ChatAsync("ep-openai", "A new minute.");
        var stats = await run.StatsAsync("ep-openai");
        Assert.Equal(2, stats.GetProperty("by_status").GetProperty("200").GetInt64());
        Assert.Equal(1, stats.GetProperty("by_status").GetProperty("429").GetInt64());
    }

    [Fact]
    public async Task LatencyFaultMultipliesTimeToFirstTokenAndLatency()
    {
        const int seed = 7;
        const string scenario = """
            name: slow
            latency:
              ep-openai: { ttft_ms: 100, tokens_per_s: 1000000 }
            """;
        await using var run = await SimRun.StartAsync(scenario, o =>
        {
            o.Seed = seed;
            o.LatencyScale = 1;
        });
        await run.PostFaultAsync(new { endpoint = "ep-openai", kind = "latency", factor = 10 });

        // The endpoint's generator gives the first two requests these times to first token without the fault.
        var random = RequestDraw.CreateRandom(seed, "ep-openai");
        var model = LatencyModel.For("gpt-4o", new LatencyOverride(100, 1_000_000));
        var first = model.Ttft(RequestDraw.Next(random).TtftZ);
        var second = model.Ttft(RequestDraw.Next(random).TtftZ);

        var clock = Stopwatch.StartNew();
        await run.ChatAsync("ep-openai", "slow please");
        Assert.True(clock.Elapsed >= (first * 10) - TimeSpan.FromMilliseconds(5), $"{clock.Elapsed} < 10 x {first}");

        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(run.Endpoint("ep-openai"), "/v1/chat/completions"))
        {
            Content = new StringContent(SimRun.ChatBody("slow stream", stream: true), System.Text.Encoding.UTF8, "application/json"),
        };
        clock.Restart();
        using var response = await run.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        var firstByte = clock.Elapsed;
        Assert.True(firstByte >= (second * 10) - TimeSpan.FromMilliseconds(5), $"TTFT {firstByte} < 10 x {second}");
        Assert.Contains("[DONE]", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task QualityDriftReplacesTheAnswerWithTheDriftedOne()
    {
        await using var run = await SimRun.StartAsync();
        await run.PostFaultAsync(new { endpoint = "ep-openai", kind = "quality_drift" });
        string prompt = "Summarize the contract.";
        var answer = await run.ChatAsync("ep-openai", prompt);
        string content = answer.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()!;
        Assert.Contains(AnswerText.Drifted(prompt), content, StringComparison.Ordinal);
        Assert.DoesNotContain(AnswerText.Expected(prompt), content, StringComparison.Ordinal);
        Assert.Equal("answer:" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes("drift:" + prompt)))[..12], AnswerText.Drifted(prompt));
    }

    [Fact]
    public async Task ContextWindowFaultAndOversizedPromptsGetTheProvidersContextErrors()
    {
        await using var run = await SimRun.StartAsync();
        await run.PostFaultAsync(new { endpoint = "ep-openai", kind = "context_window" });
        await run.PostFaultAsync(new { endpoint = "ep-anthropic", kind = "context_window" });

        using (var response = await run.PostAsync("ep-openai", SimRun.ChatBody("short")))
        {
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error");
            Assert.Equal("context_length_exceeded", error.GetProperty("code").GetString());
            Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
            Assert.Contains("maximum context length is 128000 tokens", error.GetProperty("message").GetString()!, StringComparison.Ordinal);
        }

        using (var response = await run.PostAsync("ep-anthropic", SimRun.ChatBody("short"), "/v1/messages"))
        {
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error");
            Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
            Assert.StartsWith("prompt is too long", error.GetProperty("message").GetString()!, StringComparison.Ordinal);
        }

        // Without a fault, a prompt over the endpoint's window (1000 tokens for ep-mini) is refused the same way.
        using (var response = await run.PostAsync("ep-mini", SimRun.ChatBody(new string('w', 4100))))
        {
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Contains("context_length_exceeded", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        await run.ChatAsync("ep-mini", new string('w', 3900));
        Assert.Equal(0, (await run.StatsAsync("ep-mini")).GetProperty("during_fault").GetInt64());
    }

    [Fact]
    public async Task ModelChangeSilentlyChangesTheReportedModel()
    {
        await using var run = await SimRun.StartAsync();
        await run.PostFaultAsync(new { endpoint = "ep-anthropic", kind = "model_change", model_version = "claude-sonnet-4-20250929" });
        using var response = await run.PostAsync("ep-anthropic", SimRun.ChatBody("hi"), "/v1/messages");
        var message = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("claude-sonnet-4-20250929", message.GetProperty("model").GetString());

        using var streamed = await run.PostAsync("ep-anthropic", SimRun.ChatBody("hi", stream: true), "/v1/messages");
        var start = JsonDocument.Parse(SimRun.Frames(await streamed.Content.ReadAsStringAsync())[0].Data).RootElement;
        Assert.Equal("claude-sonnet-4-20250929", start.GetProperty("message").GetProperty("model").GetString());
    }

    [Fact]
    public async Task RunawayOutputMultipliesOutputTokensAndTheCounters()
    {
        await using var baseline = await SimRun.StartAsync(configure: o => o.Seed = 11);
        long normal = (await baseline.ChatAsync("ep-openai", "count")).GetProperty("usage").GetProperty("completion_tokens").GetInt64();

        await using var run = await SimRun.StartAsync(configure: o => o.Seed = 11);
        await run.PostFaultAsync(new { endpoint = "ep-openai", kind = "runaway_output", output_factor = 8 });
        var answer = await run.ChatAsync("ep-openai", "count");
        long runaway = answer.GetProperty("usage").GetProperty("completion_tokens").GetInt64();

        Assert.Equal(normal * 8, runaway);
        Assert.Equal(runaway, (await run.StatsAsync("ep-openai")).GetProperty("output_tokens").GetInt64());
        Assert.Equal(runaway, answer.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()!.Split(' ').Length);
    }
}
