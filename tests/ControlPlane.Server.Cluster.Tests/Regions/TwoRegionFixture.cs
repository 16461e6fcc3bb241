using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using ControlPlane.Contracts.V1;
using ControlPlane.Server.Cluster.Tests.Support;
using ControlPlane.Testing;
using ControlPlane.Testing.Network;
using ControlPlane.Testing.Regions;
using Grpc.Core;
using Xunit.Abstractions;
using RegionNode = ControlPlane.Testing.Regions.TwoRegionCluster.RegionNode;

namespace ControlPlane.Server.Cluster.Tests.Regions;

/// <summary>Two regions × two real <c>controlplane</c> processes (<see cref="TwoRegionCluster"/>: each region its own
/// redis-server, the federation link through a <see cref="CuttableTcpProxy"/> per direction) with the clients the
/// region tests use: a gRPC Routing client and admin HTTP calls per node, the link's cut and restore, a region's Redis
/// restarted empty, and polling with generous bounds (they only catch hangs; measured times go to the output).</summary>
internal sealed class TwoRegionFixture : IAsyncDisposable
{
    /// <summary>How long a condition that the regions reach eventually may take before the test fails.</summary>
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private readonly List<string> _unprinted = [];
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly NodeClients _clients = new();
    private ITestOutputHelper? _output;
    private TwoRegionCluster? _cluster;

    private TwoRegionFixture(ITestOutputHelper? output) => _output = output;

    /// <summary>Where <see cref="Print"/> writes: the current test's output (a class fixture serves several tests);
    /// lines printed while none is set are written to the next one set.</summary>
    public ITestOutputHelper? Output
    {
        get => _output;
        set
        {
            lock (_unprinted)
            {
                _output = value;
                if (value is not null)
                {
                    _unprinted.ForEach(value.WriteLine);
                    _unprinted.Clear();
                }
            }
        }
    }

    /// <summary>The processes, Redis servers and proxies.</summary>
    public TwoRegionCluster Cluster => _cluster ?? throw new InvalidOperationException("Not started.");

    /// <summary>us-east (the policy home of <see cref="RegionFleets.Basic"/>).</summary>
    public TwoRegionCluster.Region UsEast => Cluster[TwoRegionCluster.UsEast];

    /// <summary>eu-west.</summary>
    public TwoRegionCluster.Region EuWest => Cluster[TwoRegionCluster.EuWest];

    /// <summary>The time since the fixture started.</summary>
    public TimeSpan Elapsed => _clock.Elapsed;

    /// <summary>Starts both regions and waits until every node routes both classes of <see cref="RegionFleets.Basic"/>.</summary>
    public static async Task<TwoRegionFixture> StartAsync(ITestOutputHelper? output, bool federation = true, string? fleetYaml = null)
    {
        var fixture = new TwoRegionFixture(output);
        try
        {
            fixture._cluster = await TwoRegionCluster.StartAsync(fleetYaml ?? RegionFleets.Basic(withRegions: federation), fixture.Print, federation);
            foreach (var node in fixture.Cluster.Nodes)
            {
                foreach (var workloadClass in new[] { RegionFleets.UsClass, RegionFleets.EuClass })
                {
                    await fixture.WaitUntilAsync($"{node} routes {workloadClass}", Patience, async () => await fixture.TryRouteAsync(node, workloadClass) is not null);
                }
            }

            fixture.Print("every node routes both classes");
            return fixture;
        }
        catch
        {
            await fixture.DisposeAsync();
            throw;
        }
    }

    /// <summary>Writes a line to the test output, stamped with the fixture's clock.</summary>
    public void Print(string line)
    {
        var stamped = $"[{_clock.Elapsed.TotalSeconds,7:F2}s] {line}";
        lock (_unprinted)
        {
            if (_output is null)
            {
                _unprinted.Add(stamped);
                return;
            }

            try
            {
                _output.WriteLine(stamped);
            }
            catch (InvalidOperationException)
            {
                // The test that set the output has finished (a late line from a background poll).
            }
        }
    }

    /// <summary>The gRPC Routing client of a node (one channel per node, reconnecting within a second).</summary>
    public Routing.RoutingClient Routing(RegionNode node) => _clients.Routing(node.GrpcAddress);

    /// <summary>One Route call on a node (a fresh request id, small token estimates), with a deadline.</summary>
    public async Task<RouteDecision> RouteAsync(RegionNode node, string workloadClass, TimeSpan? deadline = null) =>
        await Routing(node).RouteAsync(
            new RouteRequest { WorkloadClass = workloadClass, RequestId = Guid.NewGuid().ToString("N"), EstimatedInputTokens = 100, MaxOutputTokens = 100 },
            deadline: DateTime.UtcNow + (deadline ?? TimeSpan.FromSeconds(5)));

    /// <summary>A Route call, or null when it failed (the error is printed).</summary>
    public async Task<RouteDecision?> TryRouteAsync(RegionNode node, string workloadClass, TimeSpan? deadline = null)
    {
        try
        {
            return await RouteAsync(node, workloadClass, deadline);
        }
        catch (RpcException error)
        {
            Print($"{node} Route {workloadClass}: {error.StatusCode} {error.Status.Detail}");
            return null;
        }
    }

    /// <summary>Whether a decision chose or listed the endpoint.</summary>
    public static bool Lists(RouteDecision decision, string endpoint) =>
        decision.EndpointId == endpoint || decision.Fallbacks.Contains(endpoint);

    /// <summary>POST /admin/v1/endpoints/{id}/breaker through a node: the status (0 when no answer) and the body.</summary>
    public Task<(HttpStatusCode Status, string Body)> SetBreakerAsync(RegionNode node, string endpoint, string state, string reason, TimeSpan? timeout = null) =>
        PostAsync(node, $"admin/v1/endpoints/{endpoint}/breaker", new { state, reason }, timeout);

    /// <summary>POST a JSON body to a node's admin API: the status (0 when no answer) and the body.</summary>
    public async Task<(HttpStatusCode Status, string Body)> PostAsync(RegionNode node, string path, object body, TimeSpan? timeout = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(node.AdminAddress, path))
        {
            Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json"),
        };
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        try
        {
            using var response = await _clients.Http.SendAsync(request, cts.Token);
            return (response.StatusCode, await response.Content.ReadAsStringAsync(cts.Token));
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException)
        {
            return (0, ex.Message);
        }
    }

    /// <summary>GET a JSON document from a node's admin API, or null on a non-200, a timeout or a refused connection.</summary>
    public Task<JsonElement?> TryGetJsonAsync(RegionNode node, string path, TimeSpan? timeout = null) =>
        _clients.TryGetJsonAsync(node.AdminAddress, path, timeout ?? TimeSpan.FromSeconds(10));

    /// <summary>GET /admin/v1/endpoints/{id} through a node, or null.</summary>
    public Task<JsonElement?> TryGetEndpointAsync(RegionNode node, string endpoint) =>
        TryGetJsonAsync(node, $"admin/v1/endpoints/{endpoint}");

    /// <summary>The audit entries for a target through a node (newest first), or null when the node did not answer.</summary>
    public async Task<IReadOnlyList<JsonElement>?> TryGetAuditAsync(RegionNode node, string target, int limit = 100)
    {
        var page = await TryGetJsonAsync(node, $"admin/v1/audit?target={Uri.EscapeDataString(target)}&limit={limit}");
        return page is { } p ? [.. p.GetProperty("entries").EnumerateArray()] : null;
    }

    /// <summary>The breaker state in an endpoint view (<c>breaker.state</c>).</summary>
    public static string? BreakerState(JsonElement endpointView) =>
        endpointView.TryGetProperty("breaker", out var b) && b.TryGetProperty("state", out var s) ? s.GetString() : null;

    /// <summary>Polls a condition every 100 ms until it holds; fails the test after <paramref name="bound"/> with every
    /// node's output tail. Returns the time it took.</summary>
    public Task<TimeSpan> WaitUntilAsync(string what, TimeSpan bound, Func<Task<bool>> condition) =>
        NodeClients.WaitUntilAsync(what, bound, condition, () => Cluster.Logs());

    /// <summary>Waits until every node of a region routes a class with its decision obeying <paramref name="obeys"/>.</summary>
    public Task<TimeSpan> WaitUntilRegionRoutesAsync(TwoRegionCluster.Region region, string workloadClass, Func<RouteDecision, bool> obeys, string what, TimeSpan? bound = null) =>
        WaitUntilAsync($"{region.Name}: {what}", bound ?? Patience, async () =>
        {
            foreach (var node in region.Nodes)
            {
                if (await TryRouteAsync(node, workloadClass) is not { } decision || !obeys(decision))
                {
                    return false;
                }
            }

            return true;
        });

    /// <summary>Starts a Route load: per node, one caller cycling through <paramref name="classes"/>, a call every
    /// <paramref name="pause"/>; every call's node, class, time and error is kept.</summary>
    public RouteLoad StartLoad(IEnumerable<RegionNode> nodes, IReadOnlyList<string> classes, TimeSpan pause) => new(this, [.. nodes], classes, pause);

    /// <summary>Cuts the federation link both ways.</summary>
    public void CutLink(CutMode mode = CutMode.Refuse, bool resetOpenConnections = true) => Cluster.CutLink(mode, resetOpenConnections);

    /// <summary>Restores the federation link both ways.</summary>
    public void RestoreLink() => Cluster.RestoreLink();

    /// <summary>Restarts a region's redis-server empty (its nodes keep running).</summary>
    public Task RestartRedisEmptyAsync(string region) => Cluster.RestartRedisEmptyAsync(region);

    public async ValueTask DisposeAsync()
    {
        _clients.Dispose();
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
    }

    /// <summary>Route calls in a loop on some nodes.</summary>
    internal sealed class RouteLoad : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task[] _callers;

        public RouteLoad(TwoRegionFixture fixture, IReadOnlyList<RegionNode> nodes, IReadOnlyList<string> classes, TimeSpan pause)
        {
            _callers = [.. nodes.Select(node => Task.Run(async () =>
            {
                for (var i = 0; !_stop.IsCancellationRequested; i++)
                {
                    var workloadClass = classes[i % classes.Count];
                    var start = fixture.Elapsed;
                    try
                    {
                        var decision = await fixture.RouteAsync(node, workloadClass);
                        Calls.Add(new RouteCall(node, workloadClass, start, fixture.Elapsed, null, decision.EndpointId));
                    }
                    catch (RpcException ex)
                    {
                        Calls.Add(new RouteCall(node, workloadClass, start, fixture.Elapsed, $"{ex.StatusCode}: {ex.Status.Detail}", null));
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

        public System.Collections.Concurrent.ConcurrentBag<RouteCall> Calls { get; } = [];

        public async ValueTask DisposeAsync()
        {
            if (!_stop.IsCancellationRequested)
            {
                await _stop.CancelAsync();
            }

            await Task.WhenAll(_callers);
            _stop.Dispose();
        }
    }

    /// <summary>One Route call of a load.</summary>
    internal sealed record RouteCall(RegionNode Node, string WorkloadClass, TimeSpan Start, TimeSpan End, string? Error, string? EndpointId);
}
