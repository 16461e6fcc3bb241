using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Threading.Channels;
using ControlPlane.Contracts.V1;
using ControlPlane.Testing;
using ControlPlane.Testing.Regions;
using Grpc.Core;
using Grpc.Net.Client;
using static ControlPlane.Cluster.Benchmarks.BenchSupport;
using RoutingClient = ControlPlane.Contracts.V1.Routing.RoutingClient;

namespace ControlPlane.Cluster.Benchmarks;

/// <summary>
/// Forced-breaker propagation between two federated regions (<c>--federation</c>): <see cref="TwoRegionCluster"/> starts
/// two regions × two real <c>controlplane</c> processes, each region on its own redis-server, the federation link
/// through the test TCP proxy (loopback). An operator forces <c>us-main</c> (homed in us-east) open, then back to auto,
/// through a us-east node's admin API (alternating nodes). From the moment the admin request is sent, one poller per
/// eu-west node calls Route back to back until that node's decision obeys, and every node's <c>WatchRoutingTable</c>
/// stream timestamps when its pushed table shows the change (us-east's own nodes for comparison).
/// <c>dotnet run -c Release --project bench/ControlPlane.Cluster.Benchmarks -- --federation [--flips N]</c>
/// (<c>bench/federation-propagation.sh</c>).
/// </summary>
internal static class FederationPropagation
{
    private const string Target = RegionFleets.UsEndpoint;

    public static async Task<int> RunAsync(string[] args)
    {
        var flips = Arg(args, "--flips", 100);
        await using var regions = await TwoRegionCluster.StartAsync(RegionFleets.Basic(), line => Console.Error.WriteLine(line));
        var us = regions[TwoRegionCluster.UsEast].Nodes;
        var eu = regions[TwoRegionCluster.EuWest].Nodes;
        var channels = regions.Nodes.ToDictionary(n => n, n => GrpcChannel.ForAddress(n.GrpcAddress, new GrpcChannelOptions { HttpHandler = TestCredentials.Handler() }));
        using var admin = new HttpClient(TestCredentials.Handler()) { Timeout = TimeSpan.FromSeconds(30) };
        var request = new RouteRequest { WorkloadClass = RegionFleets.UsClass, RequestId = "bench", EstimatedInputTokens = 100, MaxOutputTokens = 100 };
        try
        {
            foreach (var node in regions.Nodes)
            {
                await WaitUntilRoutingAsync(new RoutingClient(channels[node]), request, Target, TimeSpan.FromSeconds(120), TimeSpan.FromMilliseconds(100));
            }

            using var stop = new CancellationTokenSource();
            var watchers = regions.Nodes.ToDictionary(n => n, n => new TableWatcher(new RoutingClient(channels[n]), Target));
            var watching = watchers.Values.Select(w => w.RunAsync(stop.Token)).ToList();
            foreach (var watcher in watchers.Values)
            {
                await watcher.WaitForAsync("closed", TimeSpan.FromSeconds(60));
            }

            var euRouting = eu.Select(n => new RoutingClient(channels[n])).ToList();
            Console.Error.WriteLine($"warming up; {flips} changes, {Environment.ProcessorCount} cores, load {LoadAverage()}");
            for (var i = 0; i < 6; i++)
            {
                var state = i % 2 == 0 ? "open" : "auto";
                await ChangeAsync(admin, us[i % 2].AdminAddress, euRouting, request, state);
                foreach (var watcher in watchers.Values)
                {
                    await watcher.WaitForAsync(state == "open" ? "open" : "closed", TimeSpan.FromSeconds(60));
                }
            }

            var adminMs = new List<double>(flips);
            var obeyAllMs = new List<double>(flips);
            var obeyEachMs = new List<double>(flips * 2);
            var pushEuEachMs = new List<double>(flips * 2);
            var pushEuAllMs = new List<double>(flips);
            var pushUsEachMs = new List<double>(flips * 2);
            var loadAtStart = LoadAverage();
            for (var i = 0; i < flips; i++)
            {
                var state = i % 2 == 0 ? "open" : "auto";
                var expected = state == "open" ? "open" : "closed";
                var change = await ChangeAsync(admin, us[i % 2].AdminAddress, euRouting, request, state);
                adminMs.Add(change.AdminMs);
                obeyEachMs.AddRange(change.ObeyMs);
                obeyAllMs.Add(change.ObeyMs.Max());
                var latest = 0.0;
                foreach (var node in eu)
                {
                    var ms = Stopwatch.GetElapsedTime(change.Start, await watchers[node].WaitForAsync(expected, TimeSpan.FromSeconds(60))).TotalMilliseconds;
                    pushEuEachMs.Add(ms);
                    latest = Math.Max(latest, ms);
                }

                pushEuAllMs.Add(latest);
                foreach (var node in us)
                {
                    pushUsEachMs.Add(Stopwatch.GetElapsedTime(change.Start, await watchers[node].WaitForAsync(expected, TimeSpan.FromSeconds(60))).TotalMilliseconds);
                }
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"2 regions x 2 nodes (separate Orleans clusters and redis-servers), federation through a loopback TCP proxy; {Target} forced in us-east (its home) through its admin API, {flips} changes ({Environment.ProcessorCount} cores, load {loadAtStart} -> {LoadAverage()})"));
            Console.WriteLine();
            Console.WriteLine("| measurement | samples | p50 ms | p99 ms | max ms |");
            Console.WriteLine("|---|---:|---:|---:|---:|");
            Row("admin POST answered (us-east)", adminMs);
            Row("WatchRoutingTable push seen, each us-east node (home)", pushUsEachMs);
            Row("WatchRoutingTable push seen, each eu-west node", pushEuEachMs);
            Row("WatchRoutingTable push seen, both eu-west nodes", pushEuAllMs);
            Row("Route obeys, each eu-west node", obeyEachMs);
            Row("**Route obeys on both eu-west nodes**", obeyAllMs);
            Console.WriteLine();
            var p99 = Percentile(obeyAllMs, 0.99);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"cross-region propagation (Route obeys on both eu-west nodes): p50 {Percentile(obeyAllMs, 0.5):F1} ms, p99 {p99:F1} ms; goal p99 <= 250 ms: {(p99 <= 250 ? "met" : "NOT met")}"));
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

            return 0;
        }
        finally
        {
            foreach (var channel in channels.Values)
            {
                channel.Dispose();
            }
        }
    }

    /// <summary>Sends one breaker change and polls Route on every eu-west node until each obeys it.</summary>
    private static async Task<(long Start, double AdminMs, double[] ObeyMs)> ChangeAsync(HttpClient admin, Uri adminAddress, List<RoutingClient> routing,
        RouteRequest routeRequest, string state)
    {
        var shouldList = state != "open";
        var start = Stopwatch.GetTimestamp();
        var posting = PostBreakerAsync(admin, adminAddress, state);
        var polling = routing.Select(client => Task.Run(() => RouteUntilAsync(client, routeRequest, Target, shouldList, start, TimeSpan.FromSeconds(60)))).ToArray();
        await posting;
        var adminMs = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        return (start, adminMs, await Task.WhenAll(polling));
    }

    private static async Task PostBreakerAsync(HttpClient admin, Uri adminAddress, string state)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(adminAddress, $"admin/v1/endpoints/{Target}/breaker"))
        {
            Content = new StringContent($$"""{"state":"{{state}}","reason":"federation propagation benchmark"}""", Encoding.UTF8, "application/json"),
        };
        using var response = await admin.SendAsync(request);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            throw new InvalidOperationException($"admin answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        }
    }
}
