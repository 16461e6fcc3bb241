using System.Globalization;
using System.Net;
using ControlPlane.Contracts.V1;
using ControlPlane.Fleet;
using ControlPlane.Grpc;
using ControlPlane.Grpc.Benchmarks;
using ControlPlane.Grpc.Client;
using ControlPlane.Server;
using ControlPlane.Service;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;

namespace ControlPlane.Service.Benchmarks;

/// <summary>Route unary calls/s and p50/p99 on one node against the raw gRPC echo (Diagnostics/Echo) baseline,
/// alternated in the same run: <c>dotnet run -c Release --project bench/ControlPlane.Service.Benchmarks --
/// [--seconds N] [--rounds N] [--concurrency N]</c>.</summary>
internal static class Program
{
    // Limits high enough never to run dry, so every Route spends from (and reconciles) real lease wallets.
    private const string BenchFleet = """
        fleet: { name: bench }
        endpoints:
          - { id: a1, provider: p, model: m, model_version: v, region: r, context_window: 128000, capabilities: [tools, streaming], price_per_1k: { input: 0.001, output: 0.002 }, limits: { tpm: 100_000_000_000, rpm: 1_000_000_000 }, owner_team: t, on_call: t }
          - { id: a2, provider: p, model: m, model_version: v, region: r, context_window: 128000, capabilities: [tools, streaming], price_per_1k: { input: 0.001, output: 0.002 }, limits: { tpm: 100_000_000_000, rpm: 1_000_000_000 }, owner_team: t, on_call: t }
          - { id: b1, provider: q, model: m, model_version: v, region: r, context_window: 128000, capabilities: [tools, streaming], price_per_1k: { input: 0.001, output: 0.002 }, limits: { tpm: 100_000_000_000, rpm: 1_000_000_000 }, owner_team: t, on_call: t }
        classes:
          - { name: chat, owner: t, mode: auto_fallback, primary: [a1, a2], fallbacks: [b1], slo: { availability: 0.995 } }
        """;

    public static async Task<int> Main(string[] args)
    {
        int seconds = Arg(args, "--seconds", 5), rounds = Arg(args, "--rounds", 3), concurrency = Arg(args, "--concurrency", 32);
        var fleet = FleetLoader.Load(new StringReader(BenchFleet), "bench-fleet.yaml");
        var options = new NodeOptions
        {
            GrpcEndpoint = new IPEndPoint(IPAddress.Loopback, 0),
            AdminEndpoint = new IPEndPoint(IPAddress.Loopback, 0),
            Storage = ControlPlaneStorage.Memory,
        };
        await using var app = NodeHost.Build(options, fleet, builder => builder.Logging.ClearProviders());
        await app.StartAsync();
        using var channel = GrpcChannel.ForAddress(NodeHost.GrpcAddress(app));
        var invoker = channel.CreateCallInvoker();
        var echo = new Method<EchoRequest, EchoResponse>(MethodType.Unary, "controlplane.v1.Diagnostics", "Echo", Marshallers.Protobuf<EchoRequest>(), Marshallers.Protobuf<EchoResponse>());
        var route = new Method<RouteRequest, RouteDecision>(MethodType.Unary, "controlplane.v1.Routing", "Route", Marshallers.Protobuf<RouteRequest>(), Marshallers.Protobuf<RouteDecision>());
        var echoRequest = new EchoRequest { Message = "ping" };
        var routeRequest = new RouteRequest { WorkloadClass = "chat", RequestId = "bench", EstimatedInputTokens = 800, MaxOutputTokens = 400, RequiredCapabilities = { "tools" } };

        async Task<int> Echo()
        {
            await invoker.UnaryAsync(echo, echoRequest);
            return 1;
        }

        async Task<int> Route()
        {
            var decision = await invoker.UnaryAsync(route, routeRequest);
            return decision.EndpointId.Length > 0 ? 1 : throw new InvalidOperationException($"no endpoint: {decision.RouteReason}");
        }

        Console.Error.WriteLine($"warming up; {rounds} rounds x {seconds} s per scenario, {concurrency} concurrent callers, {Environment.ProcessorCount} cores");
        await LoadGenerator.RunAsync(Echo, concurrency, TimeSpan.FromSeconds(2));
        await LoadGenerator.RunAsync(Route, concurrency, TimeSpan.FromSeconds(2));
        var results = new List<(string Scenario, int Round, LoadResult Result)>();
        for (var round = 1; round <= rounds; round++)
        {
            foreach (var (name, op) in new[] { ("echo (raw gRPC baseline)", (Func<Task<int>>)Echo), ("Route", Route) })
            {
                var result = await LoadGenerator.RunAsync(op, concurrency, TimeSpan.FromSeconds(seconds));
                results.Add((name, round, result));
                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"round {round} {name}: {result.UnitsPerSecond:N0}/s p50 {result.P50Ms:N3} ms p99 {result.P99Ms:N3} ms"));
            }
        }

        var echoAlloc = await LoadGenerator.AllocatedBytesPerOperationAsync(Echo);
        var routeAlloc = await LoadGenerator.AllocatedBytesPerOperationAsync(Route);
        Console.WriteLine("| scenario | calls/s (median of rounds) | p50 ms | p99 ms | CPU µs/call | allocated B/call (client+server) |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|");
        foreach (var group in results.GroupBy(r => r.Scenario))
        {
            var sorted = group.OrderBy(r => r.Result.UnitsPerSecond).ToList();
            var median = sorted[sorted.Count / 2].Result;
            var alloc = group.Key == "Route" ? routeAlloc : echoAlloc;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {group.Key} | {median.UnitsPerSecond:N0} | {median.P50Ms:N3} | {median.P99Ms:N3} | {median.CpuMicrosecondsPerUnit:N1} | {alloc:N0} |"));
        }

        var ratios = results.Where(r => r.Scenario == "Route").Select(r => r.Result.UnitsPerSecond / results.Single(e => e.Round == r.Round && e.Scenario != "Route").Result.UnitsPerSecond);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"\nRoute / echo throughput per round: {string.Join(", ", ratios.Select(x => x.ToString("P0", CultureInfo.InvariantCulture)))}"));
        await app.StopAsync();
        return 0;
    }

    private static int Arg(string[] args, string name, int fallback)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length && int.TryParse(args[i + 1], CultureInfo.InvariantCulture, out var value) && value > 0 ? value : fallback;
    }
}
