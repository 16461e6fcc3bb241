using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using ControlPlane.Client;
using ControlPlane.Contracts.V1;
using ControlPlane.Fleet;
using ControlPlane.Server;
using ControlPlane.Service;
using ControlPlane.Simulator;
using ControlPlane.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;

namespace ControlPlane.Prober.Tests;

/// <summary>The prober against the real provider simulator and a real control-plane node, with no user traffic: quality
/// drift trips the endpoint's quality breaker through synthetic verdicts; its recovery gate holds it out past the
/// cooldown while the golden set fails and lets it back once it passes; a silent model change is detected; the hourly
/// token budget stops probing.</summary>
public sealed class ProberEndToEndTests : IAsyncLifetime
{
    private const string FleetYaml = """
        evals:
          recovery_gate: { golden_set: true, min_probes: 3, pass_rate: 0.8, release_without_probes_seconds: 0 }
        endpoints:
          - id: prim
            provider: openai
            model: gpt-4o
            model_version: gpt-4o-2024-08-06
            region: us-east
            context_window: 128000
            price_per_1k: { input: 0.0025, output: 0.01 }
            owner_team: t
            on_call: t
            baseline: { quality_pass_rate: 0.95 }
          - id: back
            provider: anthropic
            model: claude-sonnet-4
            model_version: claude-sonnet-4-20250514
            region: us-east
            context_window: 200000
            price_per_1k: { input: 0.003, output: 0.015 }
            owner_team: t
            on_call: t
        classes:
          - name: chat
            owner: t
            mode: auto_fallback
            primary: [prim]
            fallbacks: [back]
            slo: { availability: 0.99, quality: 0.9 }
        """;

    private static int s_nodes;
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "cp-prober-" + Guid.NewGuid().ToString("N")[..8]);
    private SimulatorHost _simulator = null!;
    private WebApplication _node = null!;
    private HttpClient _admin = null!;
    private HttpClient _sim = null!;
    private string _fleetPath = null!;
    private string _upstreams = null!;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_directory);
        _fleetPath = Path.Combine(_directory, "fleet.yaml");
        await File.WriteAllTextAsync(_fleetPath, FleetYaml);
        var fleet = FleetLoader.LoadFile(_fleetPath);
        _simulator = await SimulatorHost.StartAsync(new SimulatorOptions { Fleet = fleet, Seed = 7, LatencyScale = 0.02 }, CancellationToken.None);
        _upstreams = _simulator.WriteUpstreams(Path.Combine(_directory, "upstreams.json"));
        _sim = new HttpClient { BaseAddress = _simulator.AdminUri };

        var options = new NodeOptions
        {
            Storage = ControlPlaneStorage.Memory,
            NodeName = $"prober-test-node-{Interlocked.Increment(ref s_nodes)}",
            GrpcEndpoint = new IPEndPoint(IPAddress.Loopback, 0),
            AdminEndpoint = new IPEndPoint(IPAddress.Loopback, 0),
            AdminKey = TestCredentials.AdminKey,
        };
        _node = NodeHost.Build(options, fleet, b => b.Logging.ClearProviders(), o =>
        {
            o.EvaluationPeriod = TimeSpan.FromSeconds(1);
            o.Health.Breaker.MinQualitySamples = 10;
            o.Health.Breaker.Cooldown = TimeSpan.FromSeconds(3);
            o.Health.Breaker.HalfOpenProbes = 1;
            o.Health.Breaker.RampObservation = TimeSpan.Zero;
            o.Health.Breaker.RampDuration = TimeSpan.Zero;
        });
        await _node.StartAsync();
        _admin = TestCredentials.Client(new Uri(NodeHost.AdminAddress(_node) + "/"));
    }

    public async Task DisposeAsync()
    {
        _admin?.Dispose();
        _sim?.Dispose();
        if (_node is not null)
        {
            await _node.StopAsync();
            await _node.DisposeAsync();
        }

        if (_simulator is not null)
        {
            await _simulator.DisposeAsync();
        }

        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task Drift_trips_the_quality_breaker_without_user_traffic_and_the_golden_set_gates_its_return()
    {
        await PostFaultAsync("""{"endpoint":"prim","kind":"quality_drift"}""");
        await using var prober = await StartProberAsync();

        // Synthetic fail verdicts reach the endpoint grain and open its quality breaker; no user request was routed.
        var opened = await WaitForAsync(() => EndpointAsync("prim"), e => Breaker(e) == ("open", "quality"), TimeSpan.FromSeconds(40));
        Assert.Equal(("open", "quality"), Breaker(opened));
        var chat = await GetJsonAsync("admin/v1/classes/chat");
        Assert.Equal(0, chat.GetProperty("availability").GetProperty("events").GetInt64());

        // Past the 3 s cooldown, still drifting: the gate keeps it open (failing golden answers keep coming in).
        await Task.Delay(TimeSpan.FromSeconds(6));
        var held = await EndpointAsync("prim");
        Assert.Equal("open", Breaker(held).State);
        Assert.DoesNotContain(held.GetProperty("recentEvents").EnumerateArray(), e => e.GetProperty("to").GetString() == "half_open");

        // The drift ends: the golden set passes, the breaker turns half-open, and one real request closes it.
        using (var clear = await _sim.DeleteAsync("sim/v1/faults"))
        {
            clear.EnsureSuccessStatusCode();
        }

        var gated = await WaitForAsync(() => EndpointAsync("prim"), e => Breaker(e).State != "open", TimeSpan.FromSeconds(30));
        Assert.Equal("half_open", Breaker(gated).State);
        Assert.Contains(gated.GetProperty("recentEvents").EnumerateArray(), e => e.GetProperty("detail").GetString()!.Contains("golden set passed", StringComparison.Ordinal));

        using var client = new ControlPlaneClient(new Uri(NodeHost.GrpcAddress(_node)), new ControlPlaneClientOptions { ApiKey = TestCredentials.AdminKey });
        var until = DateTime.UtcNow.AddSeconds(20);
        while (Breaker(await EndpointAsync("prim")).State != "closed" && DateTime.UtcNow < until)
        {
            var decision = await client.RouteAsync(new RouteRequest { WorkloadClass = "chat", RequestId = Guid.NewGuid().ToString("N"), EstimatedInputTokens = 10, MaxOutputTokens = 10 });
            if (decision.EndpointId == "prim")
            {
                await client.ReportAsync(new Outcome
                {
                    DecisionId = decision.DecisionId, EndpointId = "prim", WorkloadClass = "chat", Status = OutcomeStatus.Success, LatencyMs = 50,
                });
            }

            await Task.Delay(100);
        }

        Assert.Equal("closed", Breaker(await EndpointAsync("prim")).State);
        var status = await prober.StatusAsync();
        Assert.True(status.GetProperty("endpoints").GetProperty("prim").GetProperty("fails").GetInt64() >= 10);
        Assert.True(status.GetProperty("endpoints").GetProperty("back").GetProperty("passes").GetInt64() >= 10);
        Assert.True(status.GetProperty("totals").GetProperty("usd").GetDecimal() > 0);
    }

    [Fact]
    public async Task A_silent_model_change_is_detected_without_user_traffic_and_the_budget_stops_probing()
    {
        await PostFaultAsync("""{"endpoint":"back","kind":"model_change","model_version":"claude-sonnet-4-20991231"}""");
        // About 40 tokens reserved per probe (prompt estimate + 16): a 600-token hour pays for a dozen probes at most.
        await using var prober = await StartProberAsync(maxTokens: 16, budget: 600);

        var entry = await WaitForAsync(() => GetJsonAsync("admin/v1/catalog/back"),
            e => e.TryGetProperty("modelChange", out var c) && c.ValueKind == JsonValueKind.Object, TimeSpan.FromSeconds(30));
        Assert.Equal("claude-sonnet-4-20991231", entry.GetProperty("modelChange").GetProperty("observed").GetString());

        var spent = await WaitForAsync(prober.StatusAsync, s => s.GetProperty("budget").GetProperty("skipped_probes").GetInt64() > 0, TimeSpan.FromSeconds(30));
        var requestsAtStop = await SimulatorRequestsAsync();
        await Task.Delay(TimeSpan.FromSeconds(3));
        Assert.Equal(requestsAtStop, await SimulatorRequestsAsync());
        var budget = spent.GetProperty("budget");
        var totals = spent.GetProperty("totals");
        Assert.InRange(budget.GetProperty("spent_this_hour").GetInt64(), 1, 600);
        Assert.Equal(budget.GetProperty("spent_this_hour").GetInt64(),
            totals.GetProperty("input_tokens").GetInt64() + totals.GetProperty("output_tokens").GetInt64());
        Assert.True(totals.GetProperty("probes").GetInt64() < 2 * 10, "the budget stopped probing before two full runs of both endpoints");
    }

    private async Task<RunningProber> StartProberAsync(int maxTokens = 64, long budget = 1_000_000)
    {
        var host = await ProberHost.StartAsync(new ProberOptions
        {
            ControlPlane = new Uri(NodeHost.GrpcAddress(_node)),
            Credential = TestCredentials.AdminKey,
            UpstreamsPath = _upstreams,
            GoldenSetPath = Path.Combine(AppContext.BaseDirectory, "golden.yaml"),
            FleetPath = _fleetPath,
            Interval = TimeSpan.FromSeconds(1),
            OpenInterval = TimeSpan.FromSeconds(1),
            MaxTokensPerProbe = maxTokens,
            BudgetTokensPerHour = budget,
        }, CancellationToken.None);
        return new RunningProber(host);
    }

    private async Task PostFaultAsync(string json)
    {
        using var response = await _sim.PostAsync("sim/v1/faults", new StringContent(json, Encoding.UTF8, "application/json"));
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }

    private async Task<long> SimulatorRequestsAsync()
    {
        using var stats = JsonDocument.Parse(await _sim.GetStringAsync("sim/v1/stats"));
        return SumRequests(stats.RootElement);
    }

    // The stats document's per-endpoint `requests` counters, wherever the endpoints sit in it.
    private static long SumRequests(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Object => element.EnumerateObject().Sum(p => p.Name == "requests" && p.Value.ValueKind == JsonValueKind.Number ? p.Value.GetInt64() : SumRequests(p.Value)),
        JsonValueKind.Array => element.EnumerateArray().Sum(SumRequests),
        _ => 0,
    };

    private Task<JsonElement> EndpointAsync(string id) => GetJsonAsync($"admin/v1/endpoints/{id}");

    private async Task<JsonElement> GetJsonAsync(string path)
    {
        using var response = await _admin.GetAsync(path);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).Clone();
    }

    private static (string State, string Reason) Breaker(JsonElement endpoint) =>
        (endpoint.GetProperty("breaker").GetProperty("state").GetString()!, endpoint.GetProperty("breaker").GetProperty("reason").GetString()!);

    private static async Task<JsonElement> WaitForAsync(Func<Task<JsonElement>> read, Func<JsonElement, bool> done, TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        var value = await read();
        while (!done(value) && DateTime.UtcNow < until)
        {
            await Task.Delay(200);
            value = await read();
        }

        return value;
    }

    private sealed class RunningProber(ProberHost host) : IAsyncDisposable
    {
        private readonly HttpClient _http = new() { BaseAddress = host.StatusUri };

        public async Task<JsonElement> StatusAsync() => (await _http.GetFromJsonAsync<JsonElement>("prober/v1/status")).Clone();

        public async ValueTask DisposeAsync()
        {
            _http.Dispose();
            await host.DisposeAsync();
        }
    }
}
