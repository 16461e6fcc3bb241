using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using ControlPlane.Simulator.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace ControlPlane.Simulator.Tests.Faults;

/// <summary>Outages over real sockets: provider error bodies, a port that really refuses, connections really reset.</summary>
public sealed class OutageTests
{
    [Fact]
    public async Task Http500And503UseEachProvidersErrorShapeAndAreCounted()
    {
        await using var run = await SimRun.StartAsync();
        Assert.Equal(HttpStatusCode.Created, (await run.PostFaultAsync(new { endpoint = "ep-openai", kind = "outage", mode = "http_500" })).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await run.PostFaultAsync(new { endpoint = "ep-anthropic", kind = "outage", mode = "http_503" })).StatusCode);

        using (var response = await run.PostAsync("ep-openai", SimRun.ChatBody("hi")))
        {
            Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
            Assert.Equal("server_error", JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetProperty("type").GetString());
        }

        using (var response = await run.PostAsync("ep-anthropic", SimRun.ChatBody("hi"), "/v1/messages"))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
            Assert.Equal("error", body.GetProperty("type").GetString());
            Assert.Equal("overloaded_error", body.GetProperty("error").GetProperty("type").GetString());
        }

        var stats = await run.StatsAsync("ep-openai");
        Assert.Equal(1, stats.GetProperty("requests").GetInt64());
        Assert.Equal(1, stats.GetProperty("by_status").GetProperty("500").GetInt64());
        Assert.Equal(1, stats.GetProperty("during_fault").GetInt64());
        Assert.Equal(0, stats.GetProperty("output_tokens").GetInt64());
        // The mini endpoint has no fault: still answers.
        await run.ChatAsync("ep-mini", "hi");
        Assert.Equal(0, (await run.StatsAsync("ep-mini")).GetProperty("during_fault").GetInt64());
    }

    [Fact]
    public async Task RefusedClosesThePortUntilTheFaultEndsThenTheSamePortServesAgain()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 6, 12, 0, 0, TimeSpan.Zero));
        await using var run = await SimRun.StartAsync(configure: o => o.TimeProvider = time);
        var uri = run.Endpoint("ep-openai");
        Assert.Null(await SimRun.ConnectAsync(uri));

        using (var posted = await run.PostFaultAsync(new { endpoint = "ep-openai", kind = "outage", mode = "refused", start = "0s", end = "60s" }))
        {
            Assert.Equal(HttpStatusCode.Created, posted.StatusCode);
        }

        // A real TCP connect is refused: nothing listens on the port.
        Assert.Equal(SocketError.ConnectionRefused, await SimRun.ConnectAsync(uri));
        var endpoints = await run.AdminGetAsync("/sim/v1/endpoints");
        var listed = endpoints.GetProperty("endpoints").EnumerateArray().Single(e => e.GetProperty("id").GetString() == "ep-openai");
        Assert.False(listed.GetProperty("listening").GetBoolean());
        Assert.Equal("outage", listed.GetProperty("active_faults")[0].GetProperty("kind").GetString());
        // Other endpoints keep listening.
        Assert.Null(await SimRun.ConnectAsync(run.Endpoint("ep-anthropic")));

        time.Advance(TimeSpan.FromSeconds(59));
        await Task.Delay(300);
        Assert.Equal(SocketError.ConnectionRefused, await SimRun.ConnectAsync(uri));

        time.Advance(TimeSpan.FromSeconds(2));
        await SimRun.EventuallyAsync(async () => await SimRun.ConnectAsync(uri) is null, "the port to listen again");
        Assert.Equal(uri, run.Host.EndpointUris["ep-openai"]);
        await run.ChatAsync("ep-openai", "back");
        Assert.Equal(1, (await run.StatsAsync("ep-openai")).GetProperty("refusals").GetInt64());
    }

    [Fact]
    public async Task ResetMidStreamCutsAStreamWithATcpResetAfterSomeChunks()
    {
        await using var run = await SimRun.StartAsync();
        await run.PostFaultAsync(new { endpoint = "ep-openai", kind = "outage", mode = "reset_mid_stream" });

        using var client = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(run.Endpoint("ep-openai"), "/v1/chat/completions"))
        {
            Content = new StringContent(SimRun.ChatBody("cut me", stream: true), System.Text.Encoding.UTF8, "application/json"),
        };
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var received = new System.Text.StringBuilder();
        var failure = await Record.ExceptionAsync(async () =>
        {
            while (await reader.ReadLineAsync() is { } line)
            {
                received.AppendLine(line);
            }
        });

        Assert.NotNull(failure);
        Assert.Equal(SocketError.ConnectionReset, SimRun.SocketErrorOf(failure));
        string text = received.ToString();
        Assert.Contains("chat.completion.chunk", text, StringComparison.Ordinal);
        Assert.Contains(ControlPlane.Simulator.Generation.AnswerText.Expected("cut me"), text, StringComparison.Ordinal);
        Assert.DoesNotContain("[DONE]", text, StringComparison.Ordinal);
        Assert.DoesNotContain("usage", text, StringComparison.Ordinal);
        Assert.Equal(1, (await run.StatsAsync("ep-openai")).GetProperty("by_status").GetProperty("reset").GetInt64());
    }

    [Fact]
    public async Task ResetMidStreamResetsANonStreamingRequestBeforeTheResponse()
    {
        await using var run = await SimRun.StartAsync();
        await run.PostFaultAsync(new { endpoint = "ep-anthropic", kind = "outage", mode = "reset_mid_stream" });
        using var client = new HttpClient();
        var failure = await Assert.ThrowsAsync<HttpRequestException>(() => run.PostAsync("ep-anthropic", SimRun.ChatBody("x"), "/v1/messages", client));
        Assert.Equal(SocketError.ConnectionReset, SimRun.SocketErrorOf(failure));
    }
}
