using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using ControlPlane.Server.Tests.Grpc;

namespace ControlPlane.Server.Tests.EndToEnd;

/// <summary>The admin API reads JSON strictly, over real sockets: duplicate keys, invalid UTF-8, escaped lone
/// surrogates, numbers out of range, wrong types, deep nesting and oversized bodies (with and without a
/// Content-Length) each get 400 problem+json naming the field, and nothing changes (no override, no audit entry).</summary>
public sealed class AdminStrictJsonTests(NodeFixture fixture) : IClassFixture<NodeFixture>
{
    private const string Breaker = "/admin/v1/endpoints/google-gemini-pro-us/breaker";

    private ControlPlaneNode Node => fixture.Node;

    public static TheoryData<string, byte[], string> BadBodies => new()
    {
        { "duplicate key", Utf8("""{"state":"open","reason":"a","state":"closed"}"""), "body" },
        { "invalid UTF-8 in a string", [.. Utf8("""{"state":"open","reason":"""), 0x22, 0xC3, 0x28, 0x22, (byte)'}'], "reason" },
        { "invalid UTF-8 outside a string", [.. Utf8("""{"state":"open","reason":"a"}"""), 0xFF], "body" },
        { "escaped lone surrogate", Utf8("""{"state":"open","reason":"x\ud800y"}"""), "reason" },
        { "ttl out of range", Utf8("""{"state":"open","reason":"a","ttlSeconds":1e30}"""), "ttlSeconds" },
        { "ttl wrong type", Utf8("""{"state":"open","reason":"a","ttlSeconds":"600"}"""), "ttlSeconds" },
        { "state wrong type", Utf8("""{"state":["open"],"reason":"a"}"""), "state" },
        { "deep nesting", Utf8("""{"state":"open","reason":"a","x":""" + new string('[', 200) + new string(']', 200) + "}"), "body" },
        { "trailing garbage", Utf8("""{"state":"open","reason":"a"} {}"""), "body" },
    };

    [Theory]
    [MemberData(nameof(BadBodies))]
    public async Task A_bad_body_is_400_naming_the_field_and_changes_nothing(string name, byte[] body, string field)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, Breaker) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new("application/json");

        using var response = await Node.Admin.SendAsync(request);

        await AssertRefusedAsync(response, field, name);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_body_over_64_KB_is_refused_with_or_without_a_content_length(bool chunked)
    {
        var body = Utf8("""{"state":"open","reason":""" + "\"" + new string('a', 100_000) + "\"}");
        using var request = new HttpRequestMessage(HttpMethod.Post, Breaker)
        {
            Content = chunked ? new StreamContent(new MemoryStream(body)) : new ByteArrayContent(body),
        };
        request.Content.Headers.ContentType = new("application/json");
        request.Headers.TransferEncodingChunked = chunked;

        using var response = await Node.Admin.SendAsync(request);

        await AssertRefusedAsync(response, "body", chunked ? "chunked" : "content-length");
    }

    [Fact]
    public async Task A_fallback_eval_score_out_of_range_is_refused_naming_it()
    {
        using var response = await Node.PostAdminAsync("/admin/v1/classes/internal_copilot/policy",
            """{"fallbacks":[{"endpointId":"openai-gpt41-us","evalScore":1e400}],"reason":"r"}""", "alice");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("fallbacks[0].evalScore", problem.GetProperty("field").GetString());
    }

    private async Task AssertRefusedAsync(HttpResponseMessage response, string field, string name)
    {
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{name}: expected 400, got {(int)response.StatusCode}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(field == problem.GetProperty("field").GetString(), $"{name}: expected field {field}, got {problem}");
        var endpoint = await Node.GetAdminJsonAsync("/admin/v1/endpoints/google-gemini-pro-us");
        Assert.Equal(JsonValueKind.Null, endpoint.GetProperty("override").ValueKind);
        var audit = await Node.GetAdminJsonAsync("/admin/v1/audit");
        Assert.DoesNotContain(audit.EnumerateArray(), e => e.GetProperty("target").GetString() == "google-gemini-pro-us");
    }

    private static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);
}
