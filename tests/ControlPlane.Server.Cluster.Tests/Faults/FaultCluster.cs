using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using ControlPlane.Contracts.V1;
using ControlPlane.Server.Cluster.Tests.Support;
using ControlPlane.Testing.Redis;
using Grpc.Core;
using Xunit.Abstractions;

namespace ControlPlane.Server.Cluster.Tests.Faults;

/// <summary>Three real <c>controlplane</c> processes on one real redis-server, with admin (HTTP) and data-plane
/// (gRPC, <see cref="Routing.RoutingClient"/>) clients per node. Disposing kills every process and the Redis.</summary>
internal sealed class FaultCluster : IAsyncDisposable
{
    public const string Target = "openai-gpt4o-us";
    public const string OtherPrimary = "openai-gpt41-us";
    public const string RoutedClass = "customer_chat";

    private readonly ITestOutputHelper _output;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly NodeClients _clients = new();

    private readonly string _prefix = "faults-" + Guid.NewGuid().ToString("N")[..8];

    private FaultCluster(ITestOutputHelper output, RedisServerFixture redis)
    {
        _output = output;
        Redis = redis;
    }

    public RedisServerFixture Redis { get; }

    public IReadOnlyList<NodeProcess> Nodes { get; private set; } = [];

    /// <summary>Starts a Redis and three nodes (in parallel) and waits until every node answers GET /admin/v1/fleet.</summary>
    public static async Task<FaultCluster> StartAsync(ITestOutputHelper output, string membership = "fast", RedisServerOptions? redisOptions = null)
    {
        var redis = await RedisServerFixture.StartNewAsync(redisOptions);
        var cluster = new FaultCluster(output, redis);
        try
        {
            cluster.Nodes = [.. Enumerable.Range(1, 3).Select(i => new NodeProcess($"n{i}", redis.Endpoint, cluster._prefix, membership))];
            // The first node founds the cluster alone; the other two join it together.
            await cluster.Nodes[0].StartAsync(TimeSpan.FromSeconds(60));
            await Task.WhenAll(cluster.Nodes.Skip(1).Select(n => n.StartAsync(TimeSpan.FromSeconds(60))));
            foreach (var node in cluster.Nodes)
            {
                await cluster.WaitUntilAsync($"{node.Name} answers the fleet view", TimeSpan.FromSeconds(60), async () => await cluster.TryGetFleetAsync(node) is not null);
            }

            cluster.Print($"cluster up: {string.Join(", ", cluster.Nodes.Select(n => $"{n.Name} pid {n.Pid} silo :{n.SiloPort}"))}");
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    public TimeSpan Elapsed => _clock.Elapsed;

    public void Print(string line) => _output.WriteLine($"[{_clock.Elapsed.TotalSeconds,7:F2}s] {line}");

    /// <summary>GET /admin/v1/endpoints/{id} on a node: the view, or null on a non-200, a timeout or a refused connection.</summary>
    public Task<JsonElement?> TryGetEndpointAsync(NodeProcess node, string id, TimeSpan? timeout = null) =>
        TryGetJsonAsync(node, $"admin/v1/endpoints/{id}", timeout ?? TimeSpan.FromSeconds(8));

    /// <summary>GET /admin/v1/fleet on a node, or null.</summary>
    public Task<JsonElement?> TryGetFleetAsync(NodeProcess node, TimeSpan? timeout = null) =>
        TryGetJsonAsync(node, "admin/v1/fleet", timeout ?? TimeSpan.FromSeconds(8));

    /// <summary>The endpoint view through a node, retried until it answers (bounded).</summary>
    public async Task<JsonElement> GetEndpointAsync(NodeProcess node, string id)
    {
        JsonElement? view = null;
        await WaitUntilAsync($"{node.Name} answers GET endpoint {id}", TimeSpan.FromSeconds(60), async () => (view = await TryGetEndpointAsync(node, id)) is not null);
        return view!.Value;
    }

    /// <summary>POST /admin/v1/endpoints/{id}/breaker through a node; the HTTP status (0 when no answer).</summary>
    public async Task<HttpStatusCode> SetBreakerAsync(NodeProcess node, string id, string state, string reason, TimeSpan? timeout = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(node.AdminAddress, $"admin/v1/endpoints/{id}/breaker"))
        {
            Content = new StringContent(JsonSerializer.Serialize(new { state, reason }), Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = ControlPlane.Testing.TestCredentials.Bearer();
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(8));
        try
        {
            using var response = await _clients.Http.SendAsync(request, cts.Token);
            return response.StatusCode;
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException)
        {
            return 0;
        }
    }

    /// <summary>Sets a breaker override, retrying until a node acknowledges it with 200 (bounded).</summary>
    public async Task SetBreakerUntilAcknowledgedAsync(NodeProcess node, string id, string state, string reason)
    {
        await WaitUntilAsync($"{node.Name} acknowledges breaker {state} on {id}", TimeSpan.FromSeconds(60),
            async () => await SetBreakerAsync(node, id, state, reason) == HttpStatusCode.OK);
    }

    /// <summary>The node whose silo hosts the grain, per the view's <c>host</c> (null if none of ours).</summary>
    public NodeProcess? HostOf(JsonElement endpointView) =>
        Nodes.FirstOrDefault(n => n.Hosts(endpointView.GetProperty("host").GetString()));

    /// <summary>The endpoint ids and hosting node per the fleet view.</summary>
    public static IReadOnlyDictionary<string, string> Hosts(JsonElement fleet) =>
        fleet.GetProperty("endpoints").EnumerateArray().ToDictionary(e => e.GetProperty("id").GetString()!, e => e.GetProperty("host").GetString()!);

    public static bool IsForcedOpen(JsonElement endpointView) =>
        endpointView.GetProperty("breaker").GetProperty("state").GetString() == "open"
        && endpointView.TryGetProperty("override", out var o) && o.ValueKind == JsonValueKind.Object;

    public static long Version(JsonElement endpointView) => endpointView.GetProperty("version").GetInt64();

    public static IReadOnlyList<string> LeaseHolders(JsonElement endpointView) =>
        [.. endpointView.GetProperty("leases").EnumerateArray().Select(l => l.GetProperty("nodeId").GetString()!)];

    /// <summary>One Route call on a node (the class <see cref="RoutedClass"/>), with a deadline.</summary>
    public async Task<RouteDecision> RouteAsync(NodeProcess node, TimeSpan? deadline = null)
    {
        return await _clients.Routing(node.GrpcAddress).RouteAsync(
            new RouteRequest { WorkloadClass = RoutedClass, RequestId = Guid.NewGuid().ToString("N"), EstimatedInputTokens = 200, MaxOutputTokens = 200 },
            deadline: DateTime.UtcNow + (deadline ?? TimeSpan.FromSeconds(5)));
    }

    /// <summary>Polls a condition every 100 ms until it holds; fails the test after <paramref name="bound"/> (a hang catcher).
    /// Returns the time it took.</summary>
    public Task<TimeSpan> WaitUntilAsync(string what, TimeSpan bound, Func<Task<bool>> condition) =>
        NodeClients.WaitUntilAsync(what, bound, condition, () => Logs());

    /// <summary>Starts a Route load on the given nodes: one caller per node, a call every <paramref name="pause"/>.</summary>
    public RouteLoad StartLoad(IEnumerable<NodeProcess> nodes, TimeSpan pause) => new(this, [.. nodes], pause);

    /// <summary>The last lines of each node's output (for failure messages).</summary>
    public string Logs(int lines = 25) =>
        string.Join('\n', Nodes.Select(n => $"--- {n.Name} (pid {n.Pid}, exited {n.HasExited}) ---\n{n.Tail(lines)}"));

    public async ValueTask DisposeAsync()
    {
        _clients.Dispose();
        await Task.WhenAll(Nodes.Select(n => n.DisposeAsync().AsTask()));
        // Full node output for post-mortems: $TMPDIR/cp-faults/<cluster>/<node>.log.
        var logs = Path.Combine(Path.GetTempPath(), "cp-faults", _prefix);
        Directory.CreateDirectory(logs);
        foreach (var node in Nodes)
        {
            await File.WriteAllTextAsync(Path.Combine(logs, node.Name + ".log"), node.Tail(int.MaxValue));
        }

        _output.WriteLine($"node logs: {logs}");
        foreach (var node in Nodes)
        {
            var notable = node.Lines("incarnation lost").Concat(node.Lines("I have been told I am dead")).Concat(node.Lines("Lease renewal"))
                .Concat(node.Lines("[test]")).Distinct().Take(8).ToList();
            if (notable.Count > 0)
            {
                _output.WriteLine($"--- {node.Name}: notable output ---\n{string.Join('\n', notable)}");
            }
        }

        await Redis.DisposeAsync();
    }

    private Task<JsonElement?> TryGetJsonAsync(NodeProcess node, string path, TimeSpan timeout) =>
        _clients.TryGetJsonAsync(node.AdminAddress, path, timeout);

    /// <summary>Route calls in a loop on some nodes; every call's node, start, duration and outcome is kept.</summary>
    internal sealed class RouteLoad : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task[] _callers;

        public RouteLoad(FaultCluster cluster, IReadOnlyList<NodeProcess> nodes, TimeSpan pause)
        {
            _callers = [.. nodes.Select(node => Task.Run(async () =>
            {
                while (!_stop.IsCancellationRequested)
                {
                    var start = cluster.Elapsed;
                    try
                    {
                        var decision = await cluster.RouteAsync(node);
                        Calls.Add(new RouteCall(node, start, cluster.Elapsed, null, decision.EndpointId));
                    }
                    catch (RpcException ex)
                    {
                        Calls.Add(new RouteCall(node, start, cluster.Elapsed, $"{ex.StatusCode}: {ex.Status.Detail}", null));
                    }

                    try
                    {
                        await Task.Delay(pause, _stop.Token);
                    }
                    catch (OperationCanceledException)
                    {
                        break;
                    }
                }
            }))];
        }

        public ConcurrentBag<RouteCall> Calls { get; } = [];

        public async ValueTask DisposeAsync()
        {
            if (!_stop.IsCancellationRequested)
            {
                await _stop.CancelAsync();
            }

            await Task.WhenAll(_callers);
        }
    }

    /// <summary>One Route call of a load: its node, when it started and ended (cluster clock), the error if it failed.</summary>
    internal sealed record RouteCall(NodeProcess Node, TimeSpan Start, TimeSpan End, string? Error, string? EndpointId);
}
