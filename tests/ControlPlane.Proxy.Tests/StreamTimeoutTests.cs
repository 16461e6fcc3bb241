using System.Diagnostics;
using System.Net;
using System.Text.Json;
using ControlPlane.Providers;
using ControlPlane.Providers.Tests.Support;
using ControlPlane.Proxy.Tests.Support;

namespace ControlPlane.Proxy.Tests;

/// <summary>A started stream through the proxy: the caller's deadline still cuts it while it produces, and a stall is
/// cut by the idle timeout and reported as the endpoint's Timeout. The primary of internal_copilot is served by a paced
/// in-test upstream.</summary>
public sealed class StreamTimeoutTests
{
    private const string Primary = "anthropic-sonnet-us";

    [Fact]
    public async Task The_callers_deadline_cuts_a_stream_that_keeps_producing()
    {
        await using var upstream = await PacedUpstream.StartAsync();
        upstream.Chunks = 200; // 100 ms apart: 20 s
        upstream.Interval = TimeSpan.FromMilliseconds(100);
        await using var stack = await ProxyStack.StartAsync(o => Serve(o, upstream));
        var clock = Stopwatch.StartNew();

        using var response = await stack.Http.SendAsync(ProxyStack.Chat("internal_copilot", "endless", stream: true, deadlineMs: 2000),
            HttpCompletionOption.ResponseHeadersRead);
        var events = await ReadEventsAsync(response);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(Primary, ProxyHttp.Header(response, "x-controlplane-endpoint"));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), $"cut after {clock.Elapsed}");
        Assert.True(events.Count >= 2);
        Assert.DoesNotContain("[DONE]", events);
        var error = JsonDocument.Parse(events[^1]).RootElement.GetProperty("error");
        Assert.Equal("timeout", error.GetProperty("code").GetString());
    }

    [Fact]
    public async Task A_stalled_stream_is_cut_by_the_idle_timeout_and_reported_as_a_timeout()
    {
        await using var upstream = await PacedUpstream.StartAsync();
        upstream.StallAfterFirst = true;
        await using var stack = await ProxyStack.StartAsync(o =>
        {
            Serve(o, upstream);
            o.Provider = new ProviderClientOptions { StreamIdleTimeout = TimeSpan.FromMilliseconds(500) };
        });
        var clock = Stopwatch.StartNew();

        using var response = await stack.Http.SendAsync(ProxyStack.Chat("internal_copilot", "stall", stream: true), HttpCompletionOption.ResponseHeadersRead);
        var events = await ReadEventsAsync(response);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("1", ProxyHttp.Header(response, "x-controlplane-attempts"));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"cut after {clock.Elapsed}");
        Assert.Equal(2, events.Count);
        var error = JsonDocument.Parse(events[^1]).RootElement.GetProperty("error");
        Assert.Equal("timeout", error.GetProperty("code").GetString());
        Assert.Contains("idle timeout of 500 ms", error.GetProperty("message").GetString(), StringComparison.Ordinal);

        // Reported once, as the primary's failure.
        var primary = await stack.EndpointUntilAsync(Primary, e => ProxyStack.Health(e, "failures") >= 1);
        Assert.Equal(1, ProxyStack.Health(primary, "failures"));
    }

    private static void Serve(ProxyOptions options, PacedUpstream upstream)
    {
        var upstreams = new Dictionary<string, UpstreamEndpoint>(options.Upstreams!) { [Primary] = upstream.Endpoint(Primary) };
        options.Upstreams = upstreams;
    }

    private static async Task<List<string>> ReadEventsAsync(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        return [.. text.Split("\n\n", StringSplitOptions.RemoveEmptyEntries)
            .SelectMany(e => e.Split('\n'))
            .Where(line => line.StartsWith("data: ", StringComparison.Ordinal))
            .Select(line => line["data: ".Length..])];
    }
}
