using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ControlPlane.Fleet;
using ControlPlane.Simulator.Scenario;

namespace ControlPlane.Simulator.Tests.Support;

/// <summary>A simulator over the tests' fleet (<c>Scenarios/sim-fleet.yaml</c>) plus an HTTP client; dispose to stop both.</summary>
internal sealed class SimRun : IAsyncDisposable
{
    public static readonly string FleetPath = Path.Combine(AppContext.BaseDirectory, "Scenarios", "sim-fleet.yaml");

    private SimRun(SimulatorHost host)
    {
        Host = host;
    }

    public SimulatorHost Host { get; }

    public HttpClient Http { get; } = new() { Timeout = TimeSpan.FromSeconds(60) };

    public static IReadOnlySet<string> EndpointIds { get; } = new HashSet<string>(StringComparer.Ordinal) { "ep-openai", "ep-anthropic", "ep-mini" };

    /// <summary>Starts a simulator; <paramref name="scenarioYaml"/> (optional) is the scenario, answers are immediate unless
    /// <paramref name="configure"/> sets a latency scale.</summary>
    public static async Task<SimRun> StartAsync(string? scenarioYaml = null, Action<SimulatorOptions>? configure = null)
    {
        var options = new SimulatorOptions
        {
            FleetPath = FleetPath,
            LatencyScale = 0,
            Scenario = scenarioYaml is null ? null : ScenarioLoader.Load(new StringReader(scenarioYaml), "test-scenario.yaml", EndpointIds),
        };
        configure?.Invoke(options);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        return new SimRun(await SimulatorHost.StartAsync(options, timeout.Token));
    }

    public Uri Endpoint(string id) => Host.EndpointUris[id];

    public static string ChatBody(string prompt, bool stream = false, int? maxTokens = null)
    {
        var body = new JsonObject
        {
            ["model"] = "whatever",
            ["messages"] = new JsonArray(
                new JsonObject { ["role"] = "system", ["content"] = "You are terse." },
                new JsonObject { ["role"] = "user", ["content"] = prompt }),
        };
        if (stream)
        {
            body["stream"] = true;
        }

        if (maxTokens is { } cap)
        {
            body["max_tokens"] = cap;
        }

        return body.ToJsonString();
    }

    /// <summary>POSTs an OpenAI chat completion (or Anthropic message for <c>/v1/messages</c>).</summary>
    public Task<HttpResponseMessage> PostAsync(string endpoint, string body, string path = "/v1/chat/completions", HttpClient? client = null) =>
        (client ?? Http).PostAsync(new Uri(Endpoint(endpoint), path), new StringContent(body, Encoding.UTF8, "application/json"));

    /// <summary>POSTs and parses a 200 JSON answer.</summary>
    public async Task<JsonElement> ChatAsync(string endpoint, string prompt, int? maxTokens = null)
    {
        using var response = await PostAsync(endpoint, ChatBody(prompt, maxTokens: maxTokens));
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    public async Task<JsonElement> AdminGetAsync(string path)
    {
        string text = await Http.GetStringAsync(new Uri(Host.AdminUri, path));
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    public async Task<HttpResponseMessage> PostFaultAsync(object fault) =>
        await Http.PostAsJsonAsync(new Uri(Host.AdminUri, "/sim/v1/faults"), fault);

    public async Task<JsonElement> StatsAsync(string endpoint) =>
        (await AdminGetAsync("/sim/v1/stats")).GetProperty("endpoints").GetProperty(endpoint);

    /// <summary>Parses an SSE body into (event name or null, data) frames.</summary>
    public static List<(string? Event, string Data)> Frames(string body)
    {
        var frames = new List<(string?, string)>();
        foreach (string block in body.Split("\n\n", StringSplitOptions.RemoveEmptyEntries))
        {
            string? name = null;
            string? data = null;
            foreach (string line in block.Split('\n'))
            {
                if (line.StartsWith("event: ", StringComparison.Ordinal))
                {
                    name = line["event: ".Length..];
                }
                else if (line.StartsWith("data: ", StringComparison.Ordinal))
                {
                    data = line["data: ".Length..];
                }
                else
                {
                    Assert.Fail($"unexpected SSE line '{line}'");
                }
            }

            Assert.NotNull(data);
            frames.Add((name, data!));
        }

        return frames;
    }

    /// <summary>The socket error of <paramref name="e"/> or of any exception inside it; null when there is none.</summary>
    public static SocketError? SocketErrorOf(Exception? e)
    {
        for (; e is not null; e = e.InnerException)
        {
            if (e is SocketException socket)
            {
                return socket.SocketErrorCode;
            }
        }

        return null;
    }

    /// <summary>Connects a raw socket to <paramref name="uri"/>: null when it connected, else the socket error.</summary>
    public static async Task<SocketError?> ConnectAsync(Uri uri)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await socket.ConnectAsync(uri.Host, uri.Port);
            return null;
        }
        catch (SocketException e)
        {
            return e.SocketErrorCode;
        }
    }

    /// <summary>Polls <paramref name="condition"/> until true or 30 s pass.</summary>
    public static async Task EventuallyAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out waiting for " + what);
            await Task.Delay(50);
        }
    }

    public static FleetDefinition LoadFleet() => FleetLoader.LoadFile(FleetPath);

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Host.DisposeAsync();
    }
}
