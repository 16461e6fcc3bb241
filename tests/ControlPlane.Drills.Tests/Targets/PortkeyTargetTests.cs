using System.Diagnostics;
using System.Net;
using System.Net.NetworkInformation;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ControlPlane.Drills.Targets;
using ControlPlane.Fleet;
using ControlPlane.Simulator;

namespace ControlPlane.Drills.Tests.Targets;

/// <summary>One real Portkey gateway replica (bench/portkey, Node.js) on 127.0.0.1 in front of the real provider
/// simulator: it routes a class's request to the primary, falls back on a 500 after its retries, and listens on
/// loopback only.</summary>
public sealed class PortkeyTargetTests
{
    private const string FleetYaml = """
        fleet: { name: portkey-test, version: 1 }
        endpoints:
          - { id: ep-openai, provider: openai, model: gpt-4o, model_version: gpt-4o-2024-08-06, region: us-east, context_window: 128000, capabilities: [tools, streaming], price_per_1k: { input: 0.0025, output: 0.01 }, owner_team: t, on_call: "#t" }
          - { id: ep-anthropic, provider: anthropic, model: claude-sonnet-4, model_version: claude-sonnet-4-20250514, region: us-east, context_window: 200000, capabilities: [tools, streaming], price_per_1k: { input: 0.003, output: 0.015 }, owner_team: t, on_call: "#t" }
        classes:
          - name: chat
            owner: t
            mode: auto_fallback
            primary: [ep-openai]
            fallbacks: [{ endpoint: ep-anthropic, eval_score: 0.93 }]
            slo: { availability: 0.995, latency_p95_ms: 4000 }
        """;

    [Fact]
    public async Task Routes_a_class_request_to_the_simulator_and_falls_back_to_anthropic_on_a_500()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var work = Directory.CreateTempSubdirectory("portkey-test-");
        try
        {
            var fleetPath = Path.Combine(work.FullName, "fleet.yaml");
            await File.WriteAllTextAsync(fleetPath, FleetYaml, timeout.Token);
            var fleet = FleetLoader.LoadFile(fleetPath);
            await using var simulator = await SimulatorHost.StartAsync(new SimulatorOptions { FleetPath = fleetPath, Seed = 7, LatencyScale = 0 }, timeout.Token);
            var upstreams = PortkeyUpstreams.ReadFile(simulator.WriteUpstreams(Path.Combine(work.FullName, "upstreams.json")));
            var options = new PortkeyTargetOptions { GatewayDirectory = PortkeyTestLayout.GatewayDirectory, RetryAttempts = 1 };
            await using var host = await PortkeyTargetHost.StartAsync(fleet, upstreams, 1, options, timeout.Token);
            var target = Assert.Single(host.Replicas);
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };

            // Healthy: the primary answers, through Portkey, JSON and streamed.
            var (status, body, served) = await SendAsync(http, target, "chat", "first question", stream: false, timeout.Token);
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.Contains(Expect("first question"), body, StringComparison.Ordinal);
            Assert.Equal(new ServedBy("ep-openai", "primary", 1), served);
            var (streamStatus, streamBody, streamServed) = await SendAsync(http, target, "chat", "streamed question", stream: true, timeout.Token);
            Assert.Equal(HttpStatusCode.OK, streamStatus);
            Assert.Contains("data: [DONE]", streamBody, StringComparison.Ordinal);
            Assert.Equal("ep-openai", streamServed.Endpoint);

            // The primary answers 500: Portkey retries it once (retry.attempts 1), then falls back to the Anthropic
            // endpoint (its anthropic provider speaks /v1/messages) and the answer is still right.
            using (var fault = await http.PostAsync(new Uri(simulator.AdminUri, "sim/v1/faults"),
                new StringContent("""{"endpoint":"ep-openai","kind":"outage","mode":"http_500"}""", Encoding.UTF8, "application/json"), timeout.Token))
            {
                Assert.True(fault.IsSuccessStatusCode, await fault.Content.ReadAsStringAsync(timeout.Token));
            }

            var before = await StatsAsync(http, simulator, timeout.Token);
            (status, body, served) = await SendAsync(http, target, "chat", "second question", stream: false, timeout.Token);
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.Contains(Expect("second question"), body, StringComparison.Ordinal);
            Assert.Equal(new ServedBy("ep-anthropic", "fallback", 3), served);
            var after = await StatsAsync(http, simulator, timeout.Token);
            Assert.Equal(2, Count(after, "ep-openai", "500") - Count(before, "ep-openai", "500"));
            Assert.Equal(1, Requests(after, "ep-anthropic") - Requests(before, "ep-anthropic"));
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task The_gateway_listens_on_loopback_only_and_is_stopped_on_dispose()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var options = new PortkeyTargetOptions { GatewayDirectory = PortkeyTestLayout.GatewayDirectory };
        var gateway = await PortkeyGateway.StartAsync(options, timeout.Token);
        int port;
        try
        {
            port = gateway.BaseUri.Port;
            Assert.Equal("127.0.0.1", gateway.BaseUri.Host);
            // Left alone, the gateway binds every interface ([::] or 0.0.0.0); the preload makes it 127.0.0.1 only.
            var listeners = IPGlobalProperties.GetIPGlobalProperties().GetActiveTcpListeners().Where(l => l.Port == port).ToArray();
            Assert.NotEmpty(listeners);
            Assert.All(listeners, l => Assert.True(IPAddress.IsLoopback(l.Address), $"listening on {l}"));
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
            Assert.Equal("AI Gateway says hey!", await http.GetStringAsync(gateway.BaseUri, timeout.Token));
        }
        finally
        {
            await gateway.DisposeAsync();
        }

        Assert.DoesNotContain(IPGlobalProperties.GetIPGlobalProperties().GetActiveTcpListeners(), l => l.Port == port);
    }

    [Fact]
    public async Task The_loopback_preload_refuses_a_non_loopback_host()
    {
        var start = new ProcessStartInfo("node")
        {
            WorkingDirectory = PortkeyTestLayout.GatewayDirectory,
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        start.ArgumentList.Add("--import");
        start.ArgumentList.Add(new Uri(Path.Combine(PortkeyTestLayout.GatewayDirectory, PortkeyInstall.LoopbackPreload)).AbsoluteUri);
        start.ArgumentList.Add("-e");
        start.ArgumentList.Add("require('node:http').createServer().listen(0, () => console.log('listening'))");
        start.Environment["PORTKEY_BIND_HOST"] = "0.0.0.0";
        using var process = Process.Start(start)!;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var stdout = process.StandardOutput.ReadToEndAsync(timeout.Token);
        var stderr = await process.StandardError.ReadToEndAsync(timeout.Token);
        await process.WaitForExitAsync(timeout.Token);

        Assert.Equal(78, process.ExitCode);
        Assert.Contains("not a loopback address", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("listening", await stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_replica_exits_when_its_parent_goes_away()
    {
        // The launcher sets PORTKEY_EXIT_WITH_PARENT and holds the replica's stdin; a dead parent closes it.
        var start = new ProcessStartInfo("node")
        {
            WorkingDirectory = PortkeyTestLayout.GatewayDirectory,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add("--import");
        start.ArgumentList.Add(new Uri(Path.Combine(PortkeyTestLayout.GatewayDirectory, PortkeyInstall.LoopbackPreload)).AbsoluteUri);
        start.ArgumentList.Add("-e");
        start.ArgumentList.Add("require('node:http').createServer().listen(0)");
        start.Environment["PORTKEY_EXIT_WITH_PARENT"] = "1";
        using var process = Process.Start(start)!;
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            var line = await process.StandardOutput.ReadLineAsync(timeout.Token);
            Assert.StartsWith("portkey-listening 127.0.0.1:", line, StringComparison.Ordinal);
            Assert.False(process.HasExited);

            process.StandardInput.Close();
            await process.WaitForExitAsync(timeout.Token);
            Assert.Equal(0, process.ExitCode);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
    }

    private static async Task<(HttpStatusCode Status, string Body, ServedBy Served)> SendAsync(
        HttpClient http, IDrillTarget target, string workloadClass, string prompt, bool stream, CancellationToken cancellationToken)
    {
        var body = new JsonObject
        {
            ["model"] = "any",
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = prompt }),
            ["max_tokens"] = 64,
        };
        if (stream)
        {
            body["stream"] = true;
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(target.BaseUri, "v1/chat/completions"))
        {
            Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"),
        };
        target.Prepare(request, workloadClass, Expect(prompt));
        using var response = await http.SendAsync(request, cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        return (response.StatusCode, text, target.Read(response));
    }

    private static string Expect(string prompt) =>
        "answer:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(prompt)))[..12];

    private static async Task<JsonElement> StatsAsync(HttpClient http, SimulatorHost simulator, CancellationToken cancellationToken)
    {
        var text = await http.GetStringAsync(new Uri(simulator.AdminUri, "sim/v1/stats"), cancellationToken);
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    private static JsonElement Endpoint(JsonElement stats, string id)
    {
        var endpoints = stats.TryGetProperty("endpoints", out var e) ? e : stats;
        if (endpoints.ValueKind == JsonValueKind.Array)
        {
            return endpoints.EnumerateArray().First(x => x.GetProperty("id").GetString() == id);
        }

        return endpoints.GetProperty(id);
    }

    private static long Requests(JsonElement stats, string id) => Endpoint(stats, id).GetProperty("requests").GetInt64();

    private static long Count(JsonElement stats, string id, string status) =>
        Endpoint(stats, id).GetProperty("by_status").TryGetProperty(status, out var n) ? n.GetInt64() : 0;
}
