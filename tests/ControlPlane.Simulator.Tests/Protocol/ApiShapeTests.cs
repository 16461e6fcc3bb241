using System.Net;
using System.Text;
using System.Text.Json;
using ControlPlane.Simulator.Generation;
using ControlPlane.Simulator.Tests.Support;

namespace ControlPlane.Simulator.Tests.Protocol;

/// <summary>The OpenAI and Anthropic shapes over real HTTP: bodies, stream frames, usage, the grader-visible answer, bounds.</summary>
public sealed class ApiShapeTests
{
    [Fact]
    public async Task OpenAiJsonAnswerCarriesTheExpectedAnswerPinnedModelAndUsage()
    {
        await using var run = await SimRun.StartAsync();
        string prompt = "What is the capital of France?";
        var answer = await run.ChatAsync("ep-openai", prompt);

        Assert.Equal("chat.completion", answer.GetProperty("object").GetString());
        Assert.Equal("gpt-4o-2024-08-06", answer.GetProperty("model").GetString());
        string content = answer.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()!;
        Assert.Contains(AnswerText.Expected(prompt), content, StringComparison.Ordinal);
        Assert.Equal("answer:" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(prompt)))[..12], AnswerText.Expected(prompt));
        var usage = answer.GetProperty("usage");
        // Input ≈ chars / 4 over every message: "You are terse." (14) + the prompt (30) = 44 chars = 11 tokens.
        Assert.Equal(11, usage.GetProperty("prompt_tokens").GetInt64());
        long output = usage.GetProperty("completion_tokens").GetInt64();
        Assert.InRange(output, 8, 4096);
        Assert.Equal(11 + output, usage.GetProperty("total_tokens").GetInt64());
        Assert.Equal("stop", answer.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
    }

    [Fact]
    public async Task MaxTokensCapsTheOutputAndReportsLength()
    {
        await using var run = await SimRun.StartAsync();
        var answer = await run.ChatAsync("ep-openai", "Write an essay.", maxTokens: 5);
        Assert.Equal(5, answer.GetProperty("usage").GetProperty("completion_tokens").GetInt64());
        Assert.Equal("length", answer.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        Assert.Contains(AnswerText.Expected("Write an essay."), answer.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OpenAiStreamIsChunksThenAUsageChunkThenDone()
    {
        await using var run = await SimRun.StartAsync();
        string prompt = "stream me";
        using var response = await run.PostAsync("ep-openai", SimRun.ChatBody(prompt, stream: true));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType!.MediaType);
        var frames = SimRun.Frames(await response.Content.ReadAsStringAsync());

        Assert.Equal("[DONE]", frames[^1].Data);
        var chunks = frames.SkipLast(1).Select(f => JsonDocument.Parse(f.Data).RootElement).ToList();
        Assert.All(chunks, c => Assert.Equal("chat.completion.chunk", c.GetProperty("object").GetString()));
        Assert.All(chunks, c => Assert.Equal("gpt-4o-2024-08-06", c.GetProperty("model").GetString()));
        Assert.Equal("assistant", chunks[0].GetProperty("choices")[0].GetProperty("delta").GetProperty("role").GetString());
        string content = string.Concat(chunks
            .Where(c => c.GetProperty("choices").GetArrayLength() > 0)
            .Select(c => c.GetProperty("choices")[0].GetProperty("delta"))
            .Where(d => d.TryGetProperty("content", out _))
            .Select(d => d.GetProperty("content").GetString()));
        Assert.StartsWith(AnswerText.Expected(prompt), content, StringComparison.Ordinal);
        Assert.Equal("stop", chunks[^2].GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        var usage = chunks[^1].GetProperty("usage");
        Assert.Equal(0, chunks[^1].GetProperty("choices").GetArrayLength());
        Assert.True(usage.GetProperty("completion_tokens").GetInt64() >= 8);
        Assert.Equal(content.Split(' ').Length, usage.GetProperty("completion_tokens").GetInt64());
        Assert.True(chunks.Count > 3, "the answer arrives in several content chunks");
    }

    [Fact]
    public async Task AnthropicJsonAndStreamUseTheMessagesShape()
    {
        await using var run = await SimRun.StartAsync();
        string prompt = "Bonjour";
        string body = $$"""{"model":"claude","max_tokens":64,"system":"Be brief.","messages":[{"role":"user","content":[{"type":"text","text":"{{prompt}}"}]}]}""";
        using (var response = await run.PostAsync("ep-anthropic", body, "/v1/messages"))
        {
            var message = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("message", message.GetProperty("type").GetString());
            Assert.Equal("claude-sonnet-4-20250514", message.GetProperty("model").GetString());
            Assert.Contains(AnswerText.Expected(prompt), message.GetProperty("content")[0].GetProperty("text").GetString()!, StringComparison.Ordinal);
            // "Be brief." (9) + "Bonjour" (7) = 16 chars = 4 tokens.
            Assert.Equal(4, message.GetProperty("usage").GetProperty("input_tokens").GetInt64());
        }

        string streamBody = body.Replace("\"max_tokens\":64", "\"max_tokens\":64,\"stream\":true", StringComparison.Ordinal);
        using var streamed = await run.PostAsync("ep-anthropic", streamBody, "/v1/messages");
        var frames = SimRun.Frames(await streamed.Content.ReadAsStringAsync());
        var names = frames.Select(f => f.Event).ToList();
        Assert.Equal(["message_start", "content_block_start", "ping"], names.Take(3));
        Assert.Equal(["content_block_stop", "message_delta", "message_stop"], names.TakeLast(3));
        Assert.All(names.Skip(3).SkipLast(3), n => Assert.Equal("content_block_delta", n));
        foreach (var (name, data) in frames)
        {
            Assert.Equal(name, JsonDocument.Parse(data).RootElement.GetProperty("type").GetString());
        }

        string text = string.Concat(frames.Where(f => f.Event == "content_block_delta")
            .Select(f => JsonDocument.Parse(f.Data).RootElement.GetProperty("delta").GetProperty("text").GetString()));
        Assert.StartsWith(AnswerText.Expected(prompt), text, StringComparison.Ordinal);
        var delta = JsonDocument.Parse(frames[^2].Data).RootElement;
        Assert.Equal(text.Split(' ').Length, delta.GetProperty("usage").GetProperty("output_tokens").GetInt64());
        Assert.Equal(4, JsonDocument.Parse(frames[0].Data).RootElement.GetProperty("message").GetProperty("usage").GetProperty("input_tokens").GetInt64());
    }

    [Theory]
    [InlineData("{not json", null)]
    [InlineData("[1,2]", null)]
    [InlineData("""{"messages":"hi"}""", "messages")]
    [InlineData("""{"messages":[]}""", "messages")]
    [InlineData("""{"messages":[{"role":"system","content":"only system"}]}""", "messages")]
    [InlineData("""{"messages":[{"role":"user","content":42}]}""", "messages[0].content")]
    [InlineData("""{"messages":[{"content":"no role"}]}""", "messages[0].role")]
    [InlineData("""{"messages":[{"role":"user","content":"x"}],"stream":"yes"}""", "stream")]
    [InlineData("""{"messages":[{"role":"user","content":"x"}],"max_tokens":0}""", "max_tokens")]
    [InlineData("""{"messages":[{"role":"user","content":"x"}],"max_completion_tokens":99999999999}""", "max_completion_tokens")]
    public async Task BadRequestsGetTheOpenAiErrorShapeNamingTheField(string body, string? param)
    {
        await using var run = await SimRun.StartAsync();
        using var response = await run.PostAsync("ep-openai", body);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error");
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.False(string.IsNullOrEmpty(error.GetProperty("message").GetString()));
        Assert.Equal(param, error.GetProperty("param").GetString());
        Assert.Equal(1, (await run.StatsAsync("ep-openai")).GetProperty("by_status").GetProperty("400").GetInt64());
    }

    [Fact]
    public async Task BodiesAndMessageCountsAreBounded()
    {
        await using var run = await SimRun.StartAsync(configure: o => o.MaxMessages = 3);
        string big = SimRun.ChatBody(new string('x', (int)SimulatorOptions.DefaultMaxRequestBodyBytes + 10));
        using (var response = await run.PostAsync("ep-openai", big))
        {
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
            Assert.Equal("invalid_request_error", JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetProperty("type").GetString());
        }

        string many = """{"messages":[{"role":"user","content":"a"},{"role":"assistant","content":"b"},{"role":"user","content":"c"},{"role":"user","content":"d"}]}""";
        using (var response = await run.PostAsync("ep-openai", many))
        {
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Equal("messages", JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetProperty("param").GetString());
        }

        using (var response = await run.Http.GetAsync(new Uri(run.Endpoint("ep-openai"), "/v1/models")))
        {
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        }
    }
}
