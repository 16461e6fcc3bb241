using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using ControlPlane.Proxy.Tests.Support;

namespace ControlPlane.Proxy.Tests;

/// <summary>queue_only holds: waited out within the deadline, else 429 with Retry-After.</summary>
public sealed class QueueHoldTests
{
    [Fact]
    public async Task A_queue_only_hold_is_waited_out_and_answered_by_the_primary_once_it_returns()
    {
        await using var stack = await ProxyStack.StartAsync(options =>
        {
            options.RouteTimeout = TimeSpan.FromSeconds(5);
            options.Executor.QueueHoldPollInterval = TimeSpan.FromMilliseconds(300);
        });
        await ProxyHttp.PostAsync(stack.Admin, "admin/v1/endpoints/anthropic-sonnet-eu/drain", """{"reason":"proxy hold test"}""");

        // No deadline of its own: the Route call is held by the node for up to the proxy's Route timeout (5 s, long
        // enough that a busy machine cannot push the node's answer past the caller's deadline), answered
        // queue_only_hold and asked again after retry_after_ms if the primary is still away, or served by the primary
        // from the hold queue as soon as it is back (the re-asking itself: Client.Tests/RoutedExecutorProxySupportTests).
        var clock = Stopwatch.StartNew();
        var pending = stack.Http.SendAsync(ProxyStack.Chat("legal_draft", "Draft a clause."));
        await Task.Delay(3_000);
        Assert.False(pending.IsCompleted);
        await ProxyHttp.PostAsync(stack.Admin, "admin/v1/endpoints/anthropic-sonnet-eu/undrain", """{"reason":"proxy hold test over"}""");
        using var response = await pending;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("anthropic-sonnet-eu", ProxyHttp.Header(response, "x-controlplane-endpoint"));
        Assert.True(clock.ElapsedMilliseconds >= 3_000);
    }

    [Fact]
    public async Task A_hold_that_outlasts_the_deadline_is_429_with_retry_after()
    {
        await using var stack = await ProxyStack.StartAsync();
        await ProxyHttp.PostAsync(stack.Admin, "admin/v1/endpoints/anthropic-sonnet-eu/drain", """{"reason":"proxy hold test"}""");

        using var response = await stack.Http.SendAsync(ProxyStack.Chat("legal_draft", "Draft a clause.", deadlineMs: 1_000));

        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        Assert.Equal("queue_only_hold", ProxyHttp.Header(response, "x-controlplane-route-reason"));
        Assert.Equal("0", ProxyHttp.Header(response, "x-controlplane-attempts"));
        Assert.True(response.Headers.RetryAfter?.Delta > TimeSpan.Zero);
        var error = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error");
        Assert.Equal("queue_only_hold", error.GetProperty("code").GetString());
    }
}
