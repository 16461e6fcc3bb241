using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using ControlPlane.Proxy.Tests.Support;

namespace ControlPlane.Proxy.Tests;

/// <summary>Hostile input: refused in the OpenAI error shape, nothing routed or sent upstream.</summary>
public sealed class BadInputTests
{
    [Fact]
    public async Task Bad_input_is_refused_in_the_openai_error_shape_and_nothing_is_routed()
    {
        var keys = new Dictionary<string, string> { ["sk-support-0001"] = "customer_chat" };
        // A small body limit, so the over-limit body fits the socket buffers and the client reads the 413.
        await using var stack = await ProxyStack.StartAsync(options =>
        {
            options.ClassKeys = keys;
            options.MaxRequestBytes = 16 * 1024;
        });

        await AssertErrorAsync(stack, Raw("""{"messages":[{"role":"user","content":"hi"}]}""", key: "sk-unknown-0001"), HttpStatusCode.Unauthorized, "invalid_api_key");
        await AssertErrorAsync(stack, Raw("""{"messages":[{"role":"user","content":"hi"}]}""", key: null), HttpStatusCode.Unauthorized, "invalid_api_key");
        await AssertErrorAsync(stack, Raw("""{"messages":[{"role":"user","content":"hi"}""", key: "sk-support-0001"), HttpStatusCode.BadRequest, "invalid_request");
        await AssertErrorAsync(stack, Raw("""{"messages":[]}""", key: "sk-support-0001"), HttpStatusCode.BadRequest, "invalid_request");
        await AssertErrorAsync(stack, Raw("""{"messages":[{"content":"no role"}]}""", key: "sk-support-0001"), HttpStatusCode.BadRequest, "invalid_request");
        await AssertErrorAsync(stack, Raw("""{"messages":[{"role":"user","content":"hi"}],"max_tokens":-5}""", key: "sk-support-0001"), HttpStatusCode.BadRequest, "invalid_request");
        await AssertErrorAsync(stack, Raw("""{"messages":[{"role":"user","content":"hi"}]}""", key: "sk-support-0001", workloadClass: "no_such_class"),
            HttpStatusCode.BadRequest, "unknown_workload_class");
        await AssertErrorAsync(stack, Raw("""{"messages":[{"role":"user","content":"hi"}]}""", key: "sk-support-0001", workloadClass: "bad class!"),
            HttpStatusCode.BadRequest, "invalid_workload_class");
        var deadline = Raw("""{"messages":[{"role":"user","content":"hi"}]}""", key: "sk-support-0001");
        deadline.Headers.Add("X-ControlPlane-Deadline-Ms", "soon");
        await AssertErrorAsync(stack, deadline, HttpStatusCode.BadRequest, "invalid_deadline");
        var huge = "{\"messages\":[{\"role\":\"user\",\"content\":\"" + new string('a', 20 * 1024) + "\"}]}";
        await AssertErrorAsync(stack, Raw(huge, key: "sk-support-0001"), HttpStatusCode.RequestEntityTooLarge, "request_too_large");

        // None of it reached an endpoint; the key's own class is served.
        using var ok = await stack.Http.SendAsync(Raw("""{"messages":[{"role":"user","content":"hi"}]}""", key: "sk-support-0001"));
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.StartsWith("openai-gpt4", ProxyHttp.Header(ok, "x-controlplane-endpoint"), StringComparison.Ordinal);
        Assert.Equal(1, CountRequests(await stack.SimAdmin.GetFromJsonAsync<JsonElement>("sim/v1/stats")));
    }

    private static long CountRequests(JsonElement stats)
    {
        long total = 0;
        var endpoints = stats.TryGetProperty("endpoints", out var inner) ? inner : stats;
        foreach (var endpoint in endpoints.ValueKind == JsonValueKind.Array ? endpoints.EnumerateArray().ToList() : endpoints.EnumerateObject().Select(p => p.Value).ToList())
        {
            total += endpoint.GetProperty("requests").GetInt64();
        }

        return total;
    }

    private static HttpRequestMessage Raw(string body, string? key, string? workloadClass = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        if (key is not null)
        {
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
        }

        if (workloadClass is not null)
        {
            request.Headers.Add("X-Workload-Class", workloadClass);
        }

        return request;
    }

    private static async Task AssertErrorAsync(ProxyStack stack, HttpRequestMessage request, HttpStatusCode status, string code)
    {
        using (request)
        using (var response = await stack.Http.SendAsync(request))
        {
            Assert.Equal(status, response.StatusCode);
            var error = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error");
            Assert.Equal(code, error.GetProperty("code").GetString());
            Assert.False(string.IsNullOrEmpty(error.GetProperty("message").GetString()));
        }
    }
}
