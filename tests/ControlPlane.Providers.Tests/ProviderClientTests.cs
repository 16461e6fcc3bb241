using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using ControlPlane.Client;
using ControlPlane.Contracts.V1;
using ControlPlane.Simulator;

namespace ControlPlane.Providers.Tests;

/// <summary><see cref="ProviderClient"/> against the real simulator: answers, usage and model in both shapes, and every
/// failure mapped to the outcome status the control plane expects.</summary>
public sealed class ProviderClientTests : IAsyncLifetime
{
    private SimulatorHost _simulator = null!;
    private HttpClient _admin = null!;
    private IReadOnlyDictionary<string, UpstreamEndpoint> _upstreams = null!;
    private readonly ProviderClient _client = new();
    private readonly string _file = Path.Combine(Path.GetTempPath(), "cp-upstreams-" + Guid.NewGuid().ToString("N") + ".json");

    public async Task InitializeAsync()
    {
        _simulator = await SimulatorHost.StartAsync(new SimulatorOptions { FleetPath = FleetPath(), Seed = 3, LatencyScale = 0 }, CancellationToken.None);
        _upstreams = UpstreamsFile.Load(_simulator.WriteUpstreams(_file));
        _admin = new HttpClient { BaseAddress = _simulator.AdminUri };
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        _admin.Dispose();
        await _simulator.DisposeAsync();
        File.Delete(_file);
    }

    [Theory]
    [InlineData("openai-gpt4o-us", "gpt-4o-2024-08-06")]
    [InlineData("anthropic-sonnet-eu", "claude-sonnet-4-20250514")]
    public async Task An_answer_has_the_graders_marker_the_usage_and_the_served_model(string endpoint, string version)
    {
        using var request = ChatRequest.FromPrompt("ping", maxTokens: 32);
        var answer = await _client.SendAsync(_upstreams[endpoint], request);

        Assert.Contains("answer:" + Hex12("ping"), answer.Content, StringComparison.Ordinal);
        Assert.Equal(version, answer.Model);
        Assert.True(answer.InputTokens > 0);
        Assert.InRange(answer.OutputTokens, 1, 32);
        Assert.Contains("\"chat.completion\"", Encoding.UTF8.GetString(answer.Body.Span), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_stream_reports_its_ttft_usage_and_content()
    {
        using var request = ChatRequest.FromPrompt("stream me", stream: true);
        var written = new MemoryStream();
        var answer = await _client.StreamAsync(_upstreams["anthropic-sonnet-us"], request, (bytes, _) =>
        {
            written.Write(bytes.Span);
            return ValueTask.CompletedTask;
        });

        Assert.Contains("answer:" + Hex12("stream me"), answer.Content, StringComparison.Ordinal);
        Assert.True(answer.TimeToFirstTokenMs >= 1);
        Assert.True(answer.OutputTokens > 0);
        Assert.EndsWith("data: [DONE]\n\n", Encoding.UTF8.GetString(written.ToArray()), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_429_is_rate_limited_with_the_providers_retry_after()
    {
        await FaultAsync(new { endpoint = "openai-gpt41-us", kind = "rate_limit", retry_after = "7s" });
        using var request = ChatRequest.FromPrompt("hi");

        var failure = await Assert.ThrowsAsync<ProviderCallException>(() => _client.SendAsync(_upstreams["openai-gpt41-us"], request));

        Assert.Equal((OutcomeStatus.RateLimited, 429, TimeSpan.FromSeconds(7), false), (failure.Status, failure.HttpStatus, failure.RetryAfter, failure.Final));
    }

    [Theory]
    [InlineData("http_500", OutcomeStatus.ServerError, 500)]
    [InlineData("http_503", OutcomeStatus.ServerError, 503)]
    [InlineData("refused", OutcomeStatus.ConnectionError, 0)]
    public async Task An_outage_is_a_failure_of_the_endpoint(string mode, OutcomeStatus status, int http)
    {
        await FaultAsync(new { endpoint = "google-gemini-pro-us", kind = "outage", mode });
        using var request = ChatRequest.FromPrompt("hi");

        var failure = await Assert.ThrowsAsync<ProviderCallException>(() => _client.SendAsync(_upstreams["google-gemini-pro-us"], request));

        Assert.Equal((status, http), (failure.Status, failure.HttpStatus));
    }

    [Theory]
    [InlineData("openai-gpt41mini-us")]
    [InlineData("anthropic-sonnet-us")]
    public async Task A_shrunk_context_window_is_an_invalid_response_another_endpoint_may_serve(string endpoint)
    {
        await FaultAsync(new { endpoint, kind = "context_window" });
        using var request = ChatRequest.FromPrompt("a long prompt");

        var failure = await Assert.ThrowsAsync<ProviderCallException>(() => _client.SendAsync(_upstreams[endpoint], request));

        Assert.Equal((OutcomeStatus.InvalidResponse, 400), (failure.Status, failure.HttpStatus));
    }

    [Fact]
    public async Task A_reset_after_the_first_bytes_of_a_stream_is_final()
    {
        await FaultAsync(new { endpoint = "selfhosted-llama-eu", kind = "outage", mode = "reset_mid_stream" });
        using var request = ChatRequest.FromPrompt("hi", stream: true);
        var events = 0;

        var failure = await Assert.ThrowsAsync<ProviderCallException>(() => _client.StreamAsync(_upstreams["selfhosted-llama-eu"], request, (_, _) =>
        {
            events++;
            return ValueTask.CompletedTask;
        }));

        Assert.Equal(OutcomeStatus.ConnectionError, failure.Status);
        Assert.True(failure.Final);
        Assert.True(events >= 1);
    }

    private async Task FaultAsync(object fault)
    {
        using var response = await _admin.PostAsJsonAsync("sim/v1/faults", fault);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }

    private static string Hex12(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..12];

    private static string FleetPath()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "deploy", "fleet.sample.yaml");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException("deploy/fleet.sample.yaml not found above the test's folder.");
    }
}
