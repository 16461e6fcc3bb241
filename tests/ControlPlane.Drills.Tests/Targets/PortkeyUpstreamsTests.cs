using ControlPlane.Drills.Targets;

namespace ControlPlane.Drills.Tests.Targets;

public sealed class PortkeyUpstreamsTests
{
    [Fact]
    public void Reads_the_simulator_upstreams_shape()
    {
        const string json = """
            {"endpoints":{
              "openai-gpt4o-us":{"url":"http://127.0.0.1:41001","api":"openai","provider":"openai","model":"gpt-4o","model_version":"gpt-4o-2024-08-06"},
              "anthropic-sonnet-us":{"url":"http://127.0.0.1:41002","api":"anthropic","provider":"anthropic","model":"claude-sonnet-4","model_version":"x","api_key_env":"ANTHROPIC_KEY"}}}
            """;

        var upstreams = PortkeyUpstreams.Parse(json, "upstreams.json");

        Assert.Equal(new PortkeyUpstream(new Uri("http://127.0.0.1:41001"), "openai", "gpt-4o", null), upstreams["openai-gpt4o-us"]);
        Assert.Equal("anthropic", upstreams["anthropic-sonnet-us"].Api);
        Assert.Equal("ANTHROPIC_KEY", upstreams["anthropic-sonnet-us"].ApiKeyEnv);
    }

    [Theory]
    [InlineData("{", "not valid JSON")]
    [InlineData("[]", "endpoints")]
    [InlineData("""{"endpoints":{"a":{"url":"ftp://h/x","model":"m"}}}""", "endpoints.a.url")]
    [InlineData("""{"endpoints":{"a":{"url":"http://h/?q=1","model":"m"}}}""", "endpoints.a.url")]
    [InlineData("""{"endpoints":{"a":{"url":"http://h","model":"m","api":"grpc"}}}""", "endpoints.a.api")]
    [InlineData("""{"endpoints":{"a":{"url":"http://h"}}}""", "endpoints.a.model")]
    [InlineData("""{"endpoints":{"a":{"url":"http://h","model":7}}}""", "endpoints.a.model")]
    [InlineData("""{"endpoints":{"a":[]}}""", "endpoints.a")]
    public void A_broken_file_names_the_field(string json, string field)
    {
        var error = Assert.Throws<InvalidDataException>(() => PortkeyUpstreams.Parse(json, "up.json"));
        Assert.StartsWith("up.json", error.Message, StringComparison.Ordinal);
        Assert.Contains(field, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Sizes_and_counts_are_bounded()
    {
        var many = "{\"endpoints\":{" + string.Join(',', Enumerable.Range(0, PortkeyUpstreams.MaxEndpoints + 1)
            .Select(i => $"\"e{i}\":{{\"url\":\"http://127.0.0.1:1\",\"model\":\"m\"}}")) + "}}";
        Assert.Contains("more than", Assert.Throws<InvalidDataException>(() => PortkeyUpstreams.Parse(many, "up.json")).Message, StringComparison.Ordinal);

        var huge = "{\"endpoints\":{}, \"pad\":\"" + new string('x', PortkeyUpstreams.MaxBytes) + "\"}";
        Assert.Contains("larger than", Assert.Throws<InvalidDataException>(() => PortkeyUpstreams.Parse(huge, "up.json")).Message, StringComparison.Ordinal);
    }
}
