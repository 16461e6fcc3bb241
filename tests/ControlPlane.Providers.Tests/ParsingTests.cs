using System.Text;

namespace ControlPlane.Providers.Tests;

/// <summary>The upstreams file and the chat request: hostile input is refused with the field named.</summary>
public sealed class ParsingTests
{
    [Fact]
    public void The_upstreams_file_reads_endpoints_and_resolves_the_api_key_from_the_environment()
    {
        var json = """{"endpoints":{"a":{"url":"http://127.0.0.1:1234","api":"anthropic","provider":"anthropic","model":"m","model_version":"v","api_key_env":"K"}}}""";
        var endpoints = UpstreamsFile.Parse(Encoding.UTF8.GetBytes(json), "u.json", name => name == "K" ? "secret" : null);

        var a = endpoints["a"];
        Assert.Equal((UpstreamApi.Anthropic, "m", "secret"), (a.Api, a.Model, a.ApiKey));
        Assert.Equal("http://127.0.0.1:1234/v1/messages", a.CallUri.ToString());
    }

    [Theory]
    [InlineData("""{"endpoints":{"a":{"url":"ftp://x"}}}""", "endpoints.a.url")]
    [InlineData("""{"endpoints":{"a":{"url":"http://x","api":"grpc"}}}""", "endpoints.a.api")]
    [InlineData("""{"endpoints":{"a":{"url":"http://x","colour":"red"}}}""", "endpoints.a.colour: unknown field")]
    [InlineData("""{"endpoints":{"a":{"url":"http://x","api_key_env":"UNSET"}}}""", "endpoints.a.api_key_env")]
    [InlineData("""{"endpoint":{}}""", "endpoint: unknown field")]
    [InlineData("""{"endpoints":{"a":{"url":5}}}""", "endpoints.a.url: must be a string")]
    [InlineData("{\"endpoints\":\n{\"a\":", "u.json:2:")]
    public void A_bad_upstreams_file_names_the_field(string json, string expected)
    {
        var error = Assert.Throws<UpstreamsFileException>(() => UpstreamsFile.Parse(Encoding.UTF8.GetBytes(json), "u.json", _ => null));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("not json", "not valid JSON")]
    [InlineData("[]", "JSON object")]
    [InlineData("""{"messages":[]}""", "messages")]
    [InlineData("""{"messages":[{"content":"x"}]}""", "messages[0].role")]
    [InlineData("""{"messages":[{"role":"user","content":5}]}""", "messages[0].content")]
    [InlineData("""{"messages":[{"role":"user","content":"x"}],"max_tokens":0}""", "max_tokens")]
    [InlineData("""{"messages":[{"role":"user","content":"x"}],"stream":"yes"}""", "stream")]
    public void A_bad_chat_request_is_refused_naming_the_field(string body, string expected)
    {
        Assert.False(ChatRequest.TryParse(Encoding.UTF8.GetBytes(body), out _, out var error));
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_chat_request_gives_what_routing_needs()
    {
        Assert.True(ChatRequest.TryParse(Encoding.UTF8.GetBytes("""{"messages":[{"role":"system","content":"s"},{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}],"stream":true,"max_completion_tokens":77}"""),
            out var request, out _));
        using (request)
        {
            Assert.True(request.Stream);
            Assert.Equal(77, request.MaxOutputTokens);
            Assert.Equal("ab", request.LastUserText());
            Assert.True(request.EstimatedInputTokens > 0);
        }
    }
}
