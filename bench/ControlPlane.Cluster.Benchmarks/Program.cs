using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using System.Threading.Channels;
using ControlPlane.Contracts.V1;
using ControlPlane.Fleet;
using ControlPlane.Server;
using ControlPlane.Testing.Redis;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;
using static ControlPlane.Cluster.Benchmarks.BenchSupport;
using DiagnosticsClient = ControlPlane.Contracts.V1.Diagnostics.DiagnosticsClient;
using RoutingClient = ControlPlane.Contracts.V1.Routing.RoutingClient;

namespace ControlPlane.Cluster.Benchmarks;

/// <summary>
/// Forced-breaker propagation across a 3-node cluster: a real redis-server (started here, loopback, free port) and
/// three in-process nodes built by <see cref="NodeHost"/> as <c>controlplane --redis</c> builds them (each its own
/// Orleans 10 silo on Redis clustering and Redis grain storage, its own Kestrel sockets, Grpc.AspNetCore data plane).
/// An admin forces an endpoint's breaker open (then back to auto) through one node's admin API, rotating the node.
/// From the moment the admin request is sent, one poller per node calls Route back to back (Grpc.Net.Client) until
/// that node's decision obeys (forced open: the endpoint is neither chosen nor listed as a fallback; auto: it is
/// again); every node's <c>WatchRoutingTable</c> stream also timestamps when its pushed table shows the change.
/// Reported next to the node's own Grpc.AspNetCore echo (<c>Diagnostics/Echo</c>) round trip measured in the same run.
/// <c>dotnet run -c Release --project bench/ControlPlane.Cluster.Benchmarks -- [--flips N] [--echo N]</c>.
/// With <c>--federation</c>: propagation between two federated regions instead (<see cref="FederationPropagation"/>).
/// </summary>
internal static class Program
{
    private const string Target = "openai-gpt4o-us";

    public static async Task<int> Main(string[] args)
    {
        if (args.Contains("--federation"))
        {
            // Two federated regions as real processes: FederationPropagation.cs.
            return await FederationPropagation.RunAsync(args);
        }

        int flips = Arg(args, "--flips", 100), echoCalls = Arg(args, "--echo", 2000);
        var fleet = BenchFleet();
        await using var redis = await RedisServerFixture.StartNewAsync();
        var apps = new List<WebApplication>();
        var prefix = "bench-" + Guid.NewGuid().ToString("N")[..8];
        for (var i = 0; i < 3; i++)
        {
            var options = new NodeOptions
            {
                GrpcEndpoint = new IPEndPoint(IPAddress.Loopback, 0),
                AdminEndpoint = new IPEndPoint(IPAddress.Loopback, 0),
                RedisEndpoint = redis.Endpoint,
                NodeName = $"bench{i + 1}",
                ClusterPrefix = prefix,
                SiloPort = 0,
                GatewayPort = 0,
                EnableDiagnostics = true,
            };
            var app = NodeHost.Build(options, fleet, builder => builder.Logging.ClearProviders());
            await app.StartAsync();
            apps.Add(app);
        }

        var channels = apps.Select(a => GrpcChannel.ForAddress(NodeHost.GrpcAddress(a))).ToList();
        var routing = channels.Select(c => new RoutingClient(c)).ToList();
        var diagnostics = channels.Select(c => new DiagnosticsClient(c)).ToList();
        var admins = apps.Select(a => new HttpClient { BaseAddress = new Uri(NodeHost.AdminAddress(a) + "/") }).ToList();
        var routeRequest = new RouteRequest
        {
            WorkloadClass = "customer_chat",
            RequestId = "bench",
            EstimatedInputTokens = 500,
            MaxOutputTokens = 200,
            RequiredCapabilities = { "tools", "streaming" },
        };
        foreach (var client in routing)
        {
            await WaitUntilRoutingAsync(client, routeRequest, Target, TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(50));
        }

        using var stop = new CancellationTokenSource();
        var watchers = routing.Select(client => new TableWatcher(client, Target)).ToList();
        var watching = watchers.Select(w => w.RunAsync(stop.Token)).ToList();
        foreach (var watcher in watchers)
        {
            await watcher.WaitForAsync("closed", TimeSpan.FromSeconds(30));
        }

        var echoRequest = new EchoRequest { Message = "ping" };
        Console.Error.WriteLine($"3 nodes ({string.Join(", ", apps.Select(NodeHost.GrpcAddress))}) on redis {redis.Endpoint}; warming up; {flips} changes, {echoCalls} echo calls, {Environment.ProcessorCount} cores, load {LoadAverage()}");
        await EchoSamplesAsync(diagnostics, echoRequest, 300);
        for (var i = 0; i < 6; i++)
        {
            var state = i % 2 == 0 ? "open" : "auto";
            await ChangeAsync(admins[i % 3], routing, routeRequest, state);
            foreach (var watcher in watchers)
            {
                await watcher.WaitForAsync(state == "open" ? "open" : "closed", TimeSpan.FromSeconds(30));
            }
        }

        // Echo baseline in two halves around the changes, so both see the same machine conditions.
        var echoMs = await EchoSamplesAsync(diagnostics, echoRequest, echoCalls / 2);
        var adminMs = new List<double>(flips);
        var obeyAllMs = new List<double>(flips);
        var obeyEachMs = new List<double>(flips * 3);
        var pushAllMs = new List<double>(flips);
        var pushEachMs = new List<double>(flips * 3);
        var routeCalls = 0L;
        var loadAtStart = LoadAverage();
        for (var i = 0; i < flips; i++)
        {
            var state = i % 2 == 0 ? "open" : "auto";
            var expected = state == "open" ? "open" : "closed";
            var change = await ChangeAsync(admins[i % 3], routing, routeRequest, state);
            adminMs.Add(change.AdminMs);
            obeyEachMs.AddRange(change.ObeyMs);
            obeyAllMs.Add(change.ObeyMs.Max());
            routeCalls += change.RouteCalls;
            var latest = 0.0;
            foreach (var watcher in watchers)
            {
                var ms = Stopwatch.GetElapsedTime(change.Start, await watcher.WaitForAsync(expected, TimeSpan.FromSeconds(30))).TotalMilliseconds;
                pushEachMs.Add(ms);
                latest = Math.Max(latest, ms);
            }

            pushAllMs.Add(latest);
        }

        echoMs.AddRange(await EchoSamplesAsync(diagnostics, echoRequest, echoCalls - (echoCalls / 2)));

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"3-node cluster (Orleans {typeof(Orleans.IGrain).Assembly.GetName().Version}, Redis clustering + storage), forced breaker through a rotating node's admin API, {flips} changes ({Environment.ProcessorCount} cores, load {loadAtStart} -> {LoadAverage()})"));
        Console.WriteLine();
        Console.WriteLine("| measurement | samples | p50 ms | p99 ms | max ms |");
        Console.WriteLine("|---|---:|---:|---:|---:|");
        Row("Grpc.AspNetCore echo round trip (baseline)", echoMs);
        Row("admin POST answered", adminMs);
        Row("WatchRoutingTable push seen, each node", pushEachMs);
        Row("WatchRoutingTable push seen, all 3 nodes", pushAllMs);
        Row("Route obeys, each node", obeyEachMs);
        Row("**Route obeys on all 3 nodes**", obeyAllMs);
        Console.WriteLine();
        var p99 = Percentile(obeyAllMs, 0.99);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Route obeys on all nodes: p50 {Percentile(obeyAllMs, 0.5):F2} ms = {Percentile(obeyAllMs, 0.5) / Percentile(echoMs, 0.5):F1} x echo p50; p99 {p99:F2} ms = {p99 / Percentile(echoMs, 0.99):F1} x echo p99; target p99 <= 50 ms: {(p99 <= 50 ? "met" : "NOT met")}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Route calls made by the pollers: {routeCalls:N0} ({routeCalls / (double)(flips * 3):F1} per node per change)"));

        await stop.CancelAsync();
        foreach (var task in watching)
        {
            try
            {
                await task;
            }
            catch (Exception error) when (error is RpcException or OperationCanceledException)
            {
                // The stream ends with the nodes.
            }
        }

        foreach (var admin in admins)
        {
            admin.Dispose();
        }

        foreach (var channel in channels)
        {
            channel.Dispose();
        }

        foreach (var app in apps)
        {
            await NodeHost.StopAsync(app);
            await app.DisposeAsync();
        }

        return 0;
    }

    /// <summary>The sample fleet with every limit and class budget raised (as bench/grpc-h2load.sh does), so the
    /// pollers' Route calls never run a budget dry and every decision is a normal one.</summary>
    private static FleetDefinition BenchFleet()
    {
        var path = FleetLocator.Resolve(null);
        var yaml = File.ReadAllText(path);
        yaml = Regex.Replace(yaml, "tpm: [0-9_]+", "tpm: 100_000_000_000");
        yaml = Regex.Replace(yaml, "rpm: [0-9_]+", "rpm: 1_000_000_000");
        yaml = Regex.Replace(yaml, "tokens_per_minute: [0-9_]+", "tokens_per_minute: 100_000_000_000");
        yaml = Regex.Replace(yaml, "requests_per_minute: [0-9_]+", "requests_per_minute: 1_000_000_000");
        return FleetLoader.Load(new StringReader(yaml), path + " (limits raised)");
    }

    /// <summary>Sends one breaker change and polls Route on every node until each obeys it.</summary>
    private static async Task<(long Start, double AdminMs, double[] ObeyMs, long RouteCalls)> ChangeAsync(HttpClient admin, List<RoutingClient> routing,
        RouteRequest routeRequest, string state)
    {
        var shouldList = state != "open";
        long routeCalls = 0;
        var start = Stopwatch.GetTimestamp();
        var posting = PostBreakerAsync(admin, state);
        var polling = routing.Select(client => Task.Run(() =>
            RouteUntilAsync(client, routeRequest, Target, shouldList, start, TimeSpan.FromSeconds(30), () => Interlocked.Increment(ref routeCalls)))).ToArray();
        await posting;
        var adminMs = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        var obey = await Task.WhenAll(polling);
        return (start, adminMs, obey, routeCalls);
    }

    private static async Task PostBreakerAsync(HttpClient admin, string state)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"admin/v1/endpoints/{Target}/breaker")
        {
            Content = new StringContent($$"""{"state":"{{state}}","reason":"propagation benchmark"}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("X-Actor", "bench");
        using var response = await admin.SendAsync(request);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            throw new InvalidOperationException($"admin answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        }
    }

    private static async Task<List<double>> EchoSamplesAsync(List<DiagnosticsClient> clients, EchoRequest request, int calls)
    {
        var samples = new List<double>(calls);
        for (var i = 0; i < calls; i++)
        {
            var start = Stopwatch.GetTimestamp();
            await clients[i % clients.Count].EchoAsync(request);
            samples.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }

        return samples;
    }
}
