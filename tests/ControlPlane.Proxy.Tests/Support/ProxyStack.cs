using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using ControlPlane.Client;
using ControlPlane.Contracts.V1;
using ControlPlane.Providers;
using ControlPlane.Server;
using ControlPlane.Service;
using ControlPlane.Simulator;
using ControlPlane.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;

namespace ControlPlane.Proxy.Tests.Support;

/// <summary>The whole loop on loopback: the provider simulator impersonating the sample fleet's endpoints (each on its
/// own port), one control-plane node (an Orleans silo with in-memory grain state, started by NodeHost as Program
/// does), and the proxy reading the simulator's upstreams file and asking the node Route with the test admin key.</summary>
internal sealed class ProxyStack : IAsyncDisposable
{
    private static int s_started;
    private readonly string _directory;

    private ProxyStack(SimulatorHost simulator, WebApplication node, ProxyHost proxy, string directory)
    {
        Simulator = simulator;
        Node = node;
        Proxy = proxy;
        _directory = directory;
        Admin = TestCredentials.Client(new Uri(NodeHost.AdminAddress(node) + "/"));
        Http = new HttpClient { BaseAddress = proxy.BaseUri, Timeout = TimeSpan.FromSeconds(60) };
        SimAdmin = new HttpClient { BaseAddress = simulator.AdminUri };
    }

    public SimulatorHost Simulator { get; }

    public WebApplication Node { get; }

    public ProxyHost Proxy { get; }

    /// <summary>The node's admin API with the all-roles test key.</summary>
    public HttpClient Admin { get; }

    /// <summary>A client of the proxy.</summary>
    public HttpClient Http { get; }

    /// <summary>The simulator's admin API.</summary>
    public HttpClient SimAdmin { get; }

    public static async Task<ProxyStack> StartAsync(Action<ProxyOptions>? configure = null, double latencyScale = 0, int seed = 7,
        Action<SimulatorOptions>? configureSimulator = null, Action<ControlPlaneOptions>? configureControlPlane = null)
    {
        var directory = Path.Combine(Path.GetTempPath(), "cp-proxy-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        var fleetPath = FleetLocator.Resolve(null);
        var simulatorOptions = new SimulatorOptions { FleetPath = fleetPath, Seed = seed, LatencyScale = latencyScale };
        configureSimulator?.Invoke(simulatorOptions);
        var simulator = await SimulatorHost.StartAsync(simulatorOptions, CancellationToken.None);
        WebApplication? node = null;
        try
        {
            var upstreams = UpstreamsFile.Load(simulator.WriteUpstreams(Path.Combine(directory, "upstreams.json")));
            node = NodeHost.Build(new NodeOptions
            {
                Storage = ControlPlaneStorage.Memory,
                NodeName = $"proxy-test-node-{Interlocked.Increment(ref s_started)}",
                GrpcEndpoint = new IPEndPoint(IPAddress.Loopback, 0),
                AdminEndpoint = new IPEndPoint(IPAddress.Loopback, 0),
                AdminKey = TestCredentials.AdminKey,
            }, FleetLocator.Load(fleetPath), builder => builder.Logging.ClearProviders(), configureControlPlane);
            await node.StartAsync();
            await WarmUpAsync(new Uri(NodeHost.GrpcAddress(node)));
            var options = new ProxyOptions
            {
                ControlPlane = new Uri(NodeHost.GrpcAddress(node)),
                Credential = TestCredentials.AdminKey,
                Upstreams = upstreams,
                Listen = new IPEndPoint(IPAddress.Loopback, 0),
                ReportFlushInterval = TimeSpan.FromMilliseconds(20),
                // A busy CI machine: Route calls get time (the hold tests set the product's 2 s back).
                RouteTimeout = TimeSpan.FromSeconds(10),
            };
            configure?.Invoke(options);
            var proxy = await ProxyHost.StartAsync(options);
            return new ProxyStack(simulator, node, proxy, directory);
        }
        catch
        {
            if (node is not null)
            {
                await node.DisposeAsync();
            }

            await simulator.DisposeAsync();
            throw;
        }
    }

    /// <summary>Routes each class of the sample fleet once (grain activations and first-call costs out of the tests'
    /// timings); nothing reaches the simulator.</summary>
    private static async Task WarmUpAsync(Uri node)
    {
        using var client = new ControlPlaneClient(node, new ControlPlaneClientOptions { ApiKey = TestCredentials.AdminKey, RouteTimeout = TimeSpan.FromSeconds(30) });
        foreach (var workloadClass in new[] { "customer_chat", "internal_copilot", "legal_draft", "batch_classification", "browser_agent" })
        {
            await client.RouteAsync(new RouteRequest { WorkloadClass = workloadClass, EstimatedInputTokens = 10, MaxOutputTokens = 10 });
        }
    }

    /// <summary>What a correct answer to <paramref name="prompt"/> contains (the simulator's grader-visible marker).</summary>
    public static string Expected(string prompt) => "answer:" + Hex12(prompt);

    /// <summary>What a drifted answer to <paramref name="prompt"/> contains.</summary>
    public static string Drifted(string prompt) => "answer:" + Hex12("drift:" + prompt);

    /// <summary>A chat request of one user message to the proxy, its class named by header.</summary>
    public static HttpRequestMessage Chat(string workloadClass, string prompt, bool stream = false, string? expect = null, long? deadlineMs = null)
    {
        var body = JsonSerializer.Serialize(new { messages = new[] { new { role = "user", content = prompt } }, stream, max_tokens = 64 });
        var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Add("X-Workload-Class", workloadClass);
        if (expect is not null)
        {
            request.Headers.Add("X-ControlPlane-Expect", expect);
        }

        if (deadlineMs is { } deadline)
        {
            request.Headers.Add("X-ControlPlane-Deadline-Ms", deadline.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        return request;
    }

    /// <summary>Scripts a fault on the simulator now (fields as in the scenario file).</summary>
    public async Task FaultAsync(object fault)
    {
        using var response = await SimAdmin.PostAsJsonAsync("sim/v1/faults", fault);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>The node's admin view of an endpoint, polled until <paramref name="done"/> holds (outcomes reach the
    /// grains on the node's flush interval) or 20 s pass.</summary>
    public async Task<JsonElement> EndpointUntilAsync(string endpointId, Func<JsonElement, bool> done)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        while (true)
        {
            var value = await Admin.GetFromJsonAsync<JsonElement>($"admin/v1/endpoints/{endpointId}");
            if (done(value) || timeout.IsCancellationRequested)
            {
                return value;
            }

            await Task.Delay(25, CancellationToken.None);
        }
    }

    public static long Health(JsonElement endpoint, string field) => endpoint.GetProperty("health").GetProperty(field).GetInt64();

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        Admin.Dispose();
        SimAdmin.Dispose();
        await Proxy.DisposeAsync();
        await NodeHost.StopAsync(Node);
        await Node.DisposeAsync();
        await Simulator.DisposeAsync();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // Best effort.
        }
    }

    private static string Hex12(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..12];
}
