using System.Diagnostics.Metrics;
using System.Globalization;
using System.Net;
using ControlPlane.Contracts.V1;
using ControlPlane.Fleet;
using ControlPlane.Server;
using ControlPlane.Service;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using DiagnosticsClient = ControlPlane.Contracts.V1.Diagnostics.DiagnosticsClient;
using RoutingClient = ControlPlane.Contracts.V1.Routing.RoutingClient;

namespace ControlPlane.Service.Benchmarks;

/// <summary>On one in-process node (<see cref="NodeHost"/>: an Orleans 10 silo alone, memory grain storage, the data
/// plane on Grpc.AspNetCore), against the node's own Grpc.AspNetCore echo (<c>Diagnostics/Echo</c>) as the baseline,
/// alternated in the same run: Route unary calls/s and p50/p99, and outcomes/s through the client-streaming
/// ReportOutcomes (batches of N outcomes per call), with the node's outcome queue depth after each round and the
/// outcomes the flush loop delivered to the endpoint grains (Orleans grain calls). Clients: Grpc.Net.Client over
/// loopback h2c, one channel. <c>dotnet run -c Release --project bench/ControlPlane.Service.Benchmarks --
/// [--seconds N] [--rounds N] [--concurrency N] [--batch N]</c>.</summary>
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

    private const string Echo = "Diagnostics/Echo (Grpc.AspNetCore echo, same node)";
    private const string Route = "Route";
    private const string Report = "ReportOutcomes";

    // Decisions made before each ReportOutcomes round, so half of its outcomes reconcile a real reservation.
    private const int DecisionsPerReportRound = 20_000;

    public static async Task<int> Main(string[] args)
    {
        int seconds = Arg(args, "--seconds", 5), rounds = Arg(args, "--rounds", 3), concurrency = Arg(args, "--concurrency", 32), batch = Arg(args, "--batch", 100);
        var fleet = FleetLoader.Load(new StringReader(BenchFleet), "bench-fleet.yaml");
        var options = new NodeOptions
        {
            GrpcEndpoint = new IPEndPoint(IPAddress.Loopback, 0),
            AdminEndpoint = new IPEndPoint(IPAddress.Loopback, 0),
            Storage = ControlPlaneStorage.Memory,
            SiloPort = 0,
            EnableDiagnostics = true,
            // Half of the outcomes carry no decision id (a proxy that routed on its own table).
            AcceptUnroutedOutcomes = true,
        };
        await using var app = NodeHost.Build(options, fleet, builder => builder.Logging.ClearProviders());
        await app.StartAsync();
        await WaitUntilReadyAsync(app);
        using var node = new NodeGauges();
        using var channel = GrpcChannel.ForAddress(NodeHost.GrpcAddress(app));
        var routing = new RoutingClient(channel);
        var diagnostics = new DiagnosticsClient(channel);
        var echoRequest = new EchoRequest { Message = "ping" };
        var routeRequest = new RouteRequest { WorkloadClass = "chat", RequestId = "bench", EstimatedInputTokens = 800, MaxOutputTokens = 400, RequiredCapabilities = { "tools" } };
        var outcomes = Array.Empty<Outcome>();
        long nextOutcome = 0, acceptedOutcomes = 0, routesWithoutEndpoint = 0;

        async Task<int> EchoCall()
        {
            await diagnostics.EchoAsync(echoRequest);
            return 1;
        }

        async Task<int> RouteCall()
        {
            var decision = await routing.RouteAsync(routeRequest);
            if (decision.EndpointId.Length > 0)
            {
                return 1;
            }

            // The node fails closed (e.g. no_capacity while a lease renewal is late): a valid answer, but not a
            // routed request, so it is counted apart and not in Route's calls/s.
            Interlocked.Increment(ref routesWithoutEndpoint);
            return 0;
        }

        // One client-streaming call: `batch` outcomes, then the ack; every outcome must be accepted.
        async Task<int> ReportCall()
        {
            using var call = routing.ReportOutcomes();
            var start = Interlocked.Add(ref nextOutcome, batch) - batch;
            for (var i = 0; i < batch; i++)
            {
                await call.RequestStream.WriteAsync(outcomes[(int)((start + i) % outcomes.Length)]);
            }

            await call.RequestStream.CompleteAsync();
            var ack = await call;
            Interlocked.Add(ref acceptedOutcomes, ack.Accepted);
            return ack.Rejected == 0 ? (int)ack.Accepted : throw new InvalidOperationException($"rejected: {string.Join("; ", ack.Errors)}");
        }

        // Half the outcomes reference decisions of this node (the first report of each reconciles its reservation),
        // half carry no decision id; all are successes, so no breaker trips and Route keeps answering.
        async Task PrepareOutcomesAsync()
        {
            var decisions = new RouteDecision[DecisionsPerReportRound];
            var made = 0;
            await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
            {
                for (var i = Interlocked.Increment(ref made) - 1; i < decisions.Length; i = Interlocked.Increment(ref made) - 1)
                {
                    var decision = await routing.RouteAsync(routeRequest);
                    while (decision.EndpointId.Length == 0)
                    {
                        await Task.Delay(1);
                        decision = await routing.RouteAsync(routeRequest);
                    }

                    decisions[i] = decision;
                }
            })));
            outcomes = [.. decisions.Select((d, i) => new Outcome
            {
                DecisionId = i % 2 == 0 ? d.DecisionId : "",
                EndpointId = d.EndpointId,
                WorkloadClass = "chat",
                Status = OutcomeStatus.Success,
                HttpStatus = 200,
                LatencyMs = 400 + (i % 200),
                TtftMs = 80 + (i % 40),
                InputTokens = 700 + (i % 100),
                OutputTokens = 250 + (i % 150),
            })];
        }

        var scenarios = new Dictionary<string, Func<Task<int>>> { [Echo] = EchoCall, [Route] = RouteCall, [Report] = ReportCall };
        Console.Error.WriteLine($"warming up; {rounds} rounds x {seconds} s per scenario, {concurrency} concurrent callers, {batch} outcomes per ReportOutcomes call, {Environment.ProcessorCount} cores");
        await PrepareOutcomesAsync();
        // Two passes: the first leaves tier-1 recompilation and the flush of the warm-up outcomes behind it, which
        // would otherwise land on whichever scenario runs first.
        for (var pass = 0; pass < 2; pass++)
        {
            foreach (var op in scenarios.Values)
            {
                await LoadGenerator.RunAsync(op, concurrency, TimeSpan.FromSeconds(2));
            }
        }

        var results = new List<(string Scenario, int Round, LoadResult Result)>();
        var queueAfterRounds = new List<int>();
        for (var round = 1; round <= rounds; round++)
        {
            // Order reversed every other round, so a drift in background load does not favour one scenario.
            string[] order = round % 2 == 1 ? [Echo, Route, Report] : [Report, Route, Echo];
            foreach (var name in order)
            {
                if (name == Report)
                {
                    await PrepareOutcomesAsync();
                }

                var withoutEndpoint = Interlocked.Read(ref routesWithoutEndpoint);
                var gc = (Gen0: GC.CollectionCount(0), Gen1: GC.CollectionCount(1), Gen2: GC.CollectionCount(2));
                var result = await LoadGenerator.RunAsync(scenarios[name], concurrency, TimeSpan.FromSeconds(seconds));
                results.Add((name, round, result));
                var queued = name == Report ? node.QueuedOutcomes() : -1;
                if (queued >= 0)
                {
                    queueAfterRounds.Add(queued);
                }

                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"round {round} {name}: {result.UnitsPerSecond:N0}/s p50 {result.P50Ms:N3} ms p99 {result.P99Ms:N3} ms, CPU {result.CpuMicrosecondsPerUnit:N1} µs/unit, GCs {GC.CollectionCount(0) - gc.Gen0}/{GC.CollectionCount(1) - gc.Gen1}/{GC.CollectionCount(2) - gc.Gen2}{(queued >= 0 ? $", queued at end {queued:N0}" : "")}{(name == Route ? $", answers without endpoint {Interlocked.Read(ref routesWithoutEndpoint) - withoutEndpoint:N0}" : "")}"));
            }
        }

        // The flush loop must keep up: once the load stops, the queue drains within a few flush intervals and every
        // accepted outcome has reached its endpoint grain.
        async Task<TimeSpan> DrainAsync()
        {
            var drainStart = TimeProvider.System.GetTimestamp();
            while ((node.QueuedOutcomes() > 0 || node.DeliveredOutcomes() < Interlocked.Read(ref acceptedOutcomes))
                && TimeProvider.System.GetElapsedTime(drainStart) < TimeSpan.FromSeconds(30))
            {
                await Task.Delay(5);
            }

            return TimeProvider.System.GetElapsedTime(drainStart);
        }

        var drainedIn = await DrainAsync();
        // Allocations once the flush is idle, so the echo's figure does not carry the drain of the last round.
        var echoAlloc = await LoadGenerator.AllocatedBytesPerOperationAsync(EchoCall);
        var routeAlloc = await LoadGenerator.AllocatedBytesPerOperationAsync(RouteCall);
        var reportAlloc = await LoadGenerator.AllocatedBytesPerOperationAsync(ReportCall, 200) / batch;

        await DrainAsync();
        var (queuedAfter, delivered, accepted) = (node.QueuedOutcomes(), node.DeliveredOutcomes(), Interlocked.Read(ref acceptedOutcomes));
        // Each column is its own median over the rounds: one disturbed round moves none of them.
        Console.WriteLine("| scenario | unit | units/s | p50 ms per call | p99 ms per call | CPU µs/unit | allocated B/unit (client+server) |");
        Console.WriteLine("|---|---|---:|---:|---:|---:|---:|");
        foreach (var name in new[] { Echo, Route, Report })
        {
            var runs = results.Where(r => r.Scenario == name).Select(r => r.Result).ToList();
            var alloc = name == Echo ? echoAlloc : name == Route ? routeAlloc : reportAlloc;
            var unit = name == Report ? $"outcome ({batch}/call)" : "call";
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {name} | {unit} | {Median(runs, r => r.UnitsPerSecond).UnitsPerSecond:N0} | {Median(runs, r => r.P50Ms).P50Ms:N3} | {Median(runs, r => r.P99Ms).P99Ms:N3} | {Median(runs, r => r.CpuMicrosecondsPerUnit).CpuMicrosecondsPerUnit:N1} | {alloc:N0} |"));
        }

        Console.WriteLine();
        foreach (var name in new[] { Route, Report })
        {
            // Each round's ratio pairs a scenario with the echo run next to it, under the same background load.
            var ratios = results.Where(r => r.Scenario == name)
                .Select(r => r.Result.UnitsPerSecond / results.Single(e => e.Round == r.Round && e.Scenario == Echo).Result.UnitsPerSecond)
                .ToList();
            var ofMedians = Median(results.Where(r => r.Scenario == name).Select(r => r.Result), r => r.UnitsPerSecond).UnitsPerSecond
                / Median(results.Where(r => r.Scenario == Echo).Select(r => r.Result), r => r.UnitsPerSecond).UnitsPerSecond;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{name} / echo: {ofMedians:P0} of the medians; per round {string.Join(", ", ratios.Select(x => x.ToString("P0", CultureInfo.InvariantCulture)))} (median {Median(ratios, x => x):P0})"));
        }

        var cpuDelta = results.Where(r => r.Scenario == Route)
            .Select(r => r.Result.CpuMicrosecondsPerUnit - results.Single(e => e.Round == r.Round && e.Scenario == Echo).Result.CpuMicrosecondsPerUnit)
            .ToList();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Route CPU per call minus echo's, per round: {string.Join(", ", cpuDelta.Select(x => x.ToString("N1", CultureInfo.InvariantCulture)))} µs (median {Median(cpuDelta, x => x):N1} µs)"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Route answers without an endpoint (fail-closed, e.g. no_capacity), all runs: {Interlocked.Read(ref routesWithoutEndpoint):N0}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"\nOutcome queue at the end of each ReportOutcomes round: {string.Join(", ", queueAfterRounds.Select(q => q.ToString("N0", CultureInfo.InvariantCulture)))}; " +
            $"{queuedAfter:N0} after {drainedIn.TotalMilliseconds:N0} ms idle. Accepted (all runs, warm-up included): {accepted:N0}; delivered to endpoint grains: {delivered:N0}."));
        await NodeHost.StopAsync(app);
        return delivered >= accepted ? 0 : 1;
    }

    // The node answers UNAVAILABLE until its routing node has the fleet's state from the grains.
    private static async Task WaitUntilReadyAsync(WebApplication app)
    {
        var node = app.Services.GetRequiredService<ControlPlane.Service.DataPlane.RoutingNode>();
        var start = TimeProvider.System.GetTimestamp();
        while (!node.IsReady)
        {
            if (TimeProvider.System.GetElapsedTime(start) > TimeSpan.FromSeconds(60))
            {
                throw new TimeoutException("The node did not become ready within 60 s.");
            }

            await Task.Delay(20);
        }
    }

    private static T Median<T>(IEnumerable<T> values, Func<T, double> key)
    {
        var sorted = values.OrderBy(key).ToList();
        return sorted[sorted.Count / 2];
    }

    private static int Arg(string[] args, string name, int fallback)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length && int.TryParse(args[i + 1], CultureInfo.InvariantCulture, out var value) && value > 0 ? value : fallback;
    }

    /// <summary>The routing node's own instruments (meter <c>ControlPlane</c>), read as an operator would.</summary>
    private sealed class NodeGauges : IDisposable
    {
        private readonly MeterListener _listener = new();
        private int _queued = -1;
        private long _delivered;

        public NodeGauges()
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == "ControlPlane" && instrument.Name is "controlplane.outcome_flush.queued" or "controlplane.outcome_flush.delivered")
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<int>((_, value, _, _) => _queued = value);
            _listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref _delivered, value));
            _listener.Start();
        }

        public int QueuedOutcomes()
        {
            _listener.RecordObservableInstruments();
            return _queued >= 0 ? _queued : throw new InvalidOperationException("The node publishes no controlplane.outcome_flush.queued gauge.");
        }

        public long DeliveredOutcomes() => Interlocked.Read(ref _delivered);

        public void Dispose() => _listener.Dispose();
    }
}
