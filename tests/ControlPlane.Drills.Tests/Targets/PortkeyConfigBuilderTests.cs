using System.Text.Json;
using ControlPlane.Drills.Targets;
using ControlPlane.Fleet;

namespace ControlPlane.Drills.Tests.Targets;

public sealed class PortkeyConfigBuilderTests
{
    private static readonly FleetDefinition Fleet = FleetLoader.LoadFile(PortkeyTestLayout.SampleFleet);

    private static Dictionary<string, PortkeyUpstream> Upstreams()
    {
        var upstreams = new Dictionary<string, PortkeyUpstream>(StringComparer.Ordinal);
        var port = 41000;
        foreach (var endpoint in Fleet.Endpoints)
        {
            var api = endpoint.Descriptor.Provider == "anthropic" ? "anthropic" : "openai";
            upstreams[endpoint.Id] = new PortkeyUpstream(new Uri($"http://127.0.0.1:{port++}"), api, endpoint.Descriptor.Model, null);
        }

        return upstreams;
    }

    [Fact]
    public void Customer_chat_balances_its_two_primaries_then_falls_back_in_the_approved_order()
    {
        var upstreams = Upstreams();
        var config = PortkeyConfigBuilder.Build(Fleet, upstreams, "customer_chat", new PortkeyTargetOptions { RetryAttempts = 3 });

        using var json = JsonDocument.Parse(config.Json);
        var root = json.RootElement;
        Assert.Equal("fallback", root.GetProperty("strategy").GetProperty("mode").GetString());
        Assert.Equal([408, 429, 500, 502, 503, 504], root.GetProperty("strategy").GetProperty("on_status_codes").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal(3, root.GetProperty("retry").GetProperty("attempts").GetInt32());
        Assert.True(root.GetProperty("retry").GetProperty("use_retry_after_header").GetBoolean());
        // customer_chat's p95 objective is 4 s: 2.5 x.
        Assert.Equal(10_000, root.GetProperty("request_timeout").GetInt64());

        var targets = root.GetProperty("targets").EnumerateArray().ToArray();
        Assert.Equal(3, targets.Length);
        Assert.Equal("loadbalance", targets[0].GetProperty("strategy").GetProperty("mode").GetString());
        var primaries = targets[0].GetProperty("targets").EnumerateArray().ToArray();
        Assert.Equal(upstreams["openai-gpt4o-us"].Url.AbsoluteUri + "v1", primaries[0].GetProperty("custom_host").GetString());
        Assert.Equal("gpt-4o", primaries[0].GetProperty("override_params").GetProperty("model").GetString());
        Assert.Equal(upstreams["openai-gpt41-us"].Url.AbsoluteUri + "v1", primaries[1].GetProperty("custom_host").GetString());
        Assert.Equal("anthropic", targets[1].GetProperty("provider").GetString());
        Assert.Equal(upstreams["anthropic-sonnet-us"].Url.AbsoluteUri + "v1", targets[1].GetProperty("custom_host").GetString());
        Assert.Equal("openai", targets[2].GetProperty("provider").GetString());
        Assert.Equal(upstreams["google-gemini-pro-us"].Url.AbsoluteUri + "v1", targets[2].GetProperty("custom_host").GetString());

        Assert.Equal("openai-gpt4o-us", config.EndpointByOptionPath["config.targets[0].targets[0]"]);
        Assert.Equal("openai-gpt41-us", config.EndpointByOptionPath["config.targets[0].targets[1]"]);
        Assert.Equal("anthropic-sonnet-us", config.EndpointByOptionPath["config.targets[1]"]);
        Assert.Equal("google-gemini-pro-us", config.EndpointByOptionPath["config.targets[2]"]);
        Assert.Equal(0, config.FallbackRankByOptionPath["config.targets[0].targets[1]"]);
        Assert.Equal(2, config.FallbackRankByOptionPath["config.targets[2]"]);
    }

    [Fact]
    public void A_queue_only_class_gets_its_primary_alone()
    {
        var config = PortkeyConfigBuilder.Build(Fleet, Upstreams(), "legal_draft", new PortkeyTargetOptions());

        using var json = JsonDocument.Parse(config.Json);
        var target = Assert.Single(json.RootElement.GetProperty("targets").EnumerateArray());
        Assert.Equal("anthropic", target.GetProperty("provider").GetString());
        Assert.Equal("anthropic-sonnet-eu", Assert.Single(config.EndpointByOptionPath).Value);
        // legal_draft's p95 objective is 30 s: 2.5 x.
        Assert.Equal(75_000, json.RootElement.GetProperty("request_timeout").GetInt64());
    }

    [Fact]
    public void A_fallback_below_the_quality_gate_is_left_out()
    {
        const string yaml = """
            endpoints:
              - { id: a, provider: openai, model: m-a, model_version: m-a-1, region: us, context_window: 128000, capabilities: [tools], price_per_1k: { input: 0.001, output: 0.002 }, limits: { tpm: 1000000, rpm: 1000 }, owner_team: t, on_call: "#t" }
              - { id: b, provider: openai, model: m-b, model_version: m-b-1, region: us, context_window: 128000, capabilities: [tools], price_per_1k: { input: 0.001, output: 0.002 }, limits: { tpm: 1000000, rpm: 1000 }, owner_team: t, on_call: "#t" }
              - { id: c, provider: anthropic, model: m-c, model_version: m-c-1, region: us, context_window: 128000, capabilities: [tools], price_per_1k: { input: 0.001, output: 0.002 }, limits: { tpm: 1000000, rpm: 1000 }, owner_team: t, on_call: "#t" }
            classes:
              - name: chat
                owner: t
                mode: auto_fallback
                primary: [a]
                fallbacks:
                  - { endpoint: b, eval_score: 0.5 }
                  - { endpoint: c, eval_score: 0.95 }
                conditions: { min_context_window: 32000, quality_gate: 0.9 }
                slo: { availability: 0.99 }
            """;
        var fleet = FleetLoader.Load(new StringReader(yaml), "inline.yaml");
        var upstreams = new Dictionary<string, PortkeyUpstream>(StringComparer.Ordinal)
        {
            ["a"] = new(new Uri("http://127.0.0.1:1"), "openai", "m-a", null),
            ["b"] = new(new Uri("http://127.0.0.1:2"), "openai", "m-b", null),
            ["c"] = new(new Uri("http://127.0.0.1:3"), "anthropic", "m-c", null),
        };

        var config = PortkeyConfigBuilder.Build(fleet, upstreams, "chat", new PortkeyTargetOptions());

        // b fails the quality gate (0.5 < 0.9): a, then c.
        Assert.Equal(["a", "c"], config.EndpointByOptionPath.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => p.Value));
        using var json = JsonDocument.Parse(config.Json);
        // No latency objective: the control plane's default 60 s budget.
        Assert.Equal(60_000, json.RootElement.GetProperty("request_timeout").GetInt64());
    }

    [Fact]
    public void An_endpoint_without_an_upstream_an_unknown_class_or_an_unset_key_variable_is_refused()
    {
        var upstreams = Upstreams();
        upstreams.Remove("anthropic-sonnet-us");
        var missing = Assert.Throws<ArgumentException>(() => PortkeyConfigBuilder.Build(Fleet, upstreams, "customer_chat", new PortkeyTargetOptions()));
        Assert.Contains("anthropic-sonnet-us", missing.Message, StringComparison.Ordinal);

        Assert.Throws<ArgumentException>(() => PortkeyConfigBuilder.Build(Fleet, Upstreams(), "no_such_class", new PortkeyTargetOptions()));

        var keyed = Upstreams();
        keyed["anthropic-sonnet-eu"] = keyed["anthropic-sonnet-eu"] with { ApiKeyEnv = "PORTKEY_TEST_KEY" };
        var unset = Assert.Throws<ArgumentException>(() => PortkeyConfigBuilder.Build(Fleet, keyed, "legal_draft", new PortkeyTargetOptions(), _ => null));
        Assert.Contains("PORTKEY_TEST_KEY", unset.Message, StringComparison.Ordinal);
        var set = PortkeyConfigBuilder.Build(Fleet, keyed, "legal_draft", new PortkeyTargetOptions(), name => name == "PORTKEY_TEST_KEY" ? "sk-real" : null);
        Assert.Contains("\"api_key\":\"sk-real\"", set.Json, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(-1, null)]
    [InlineData(6, null)]
    [InlineData(2, 50)]
    public void Options_out_of_range_are_refused(int retries, int? timeoutMs)
    {
        var options = new PortkeyTargetOptions
        {
            RetryAttempts = retries,
            RequestTimeout = timeoutMs is { } ms ? TimeSpan.FromMilliseconds(ms) : null,
        };
        Assert.Throws<ArgumentException>(options.Validate);
    }
}
