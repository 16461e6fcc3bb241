using BenchmarkDotNet.Attributes;
using ControlPlane.Domain.Endpoints;
using ControlPlane.Domain.Policy;
using ControlPlane.Domain.Quotas;
using ControlPlane.Domain.Routing;

namespace ControlPlane.Domain.Benchmarks;

/// <summary>The routing decision for a class with 8 candidates among 1,000 endpoints (target: median
/// &lt;= 2 us, 0 B allocated).</summary>
[MemoryDiagnoser]
[MedianColumn]
public class RoutingBenchmarks
{
    private const int EndpointCount = 1_000;
    private readonly int[] _chain = new int[16];
    private RoutingSnapshot _snapshot = null!;
    private Router _router = null!;
    private Router _leasedRouter = null!;
    private int _balanced;
    private int _failover;
    private int _retry;
    private int[] _exclude = [];

    [GlobalSetup]
    public void Setup()
    {
        var time = TimeProvider.System;
        var endpoints = new EndpointDescriptor[EndpointCount];
        var health = new EndpointHealthView[EndpointCount];
        for (int i = 0; i < EndpointCount; i++)
        {
            endpoints[i] = new EndpointDescriptor
            {
                Id = $"provider{i % 7}-model{i}-r{i % 5}",
                Provider = $"provider{i % 7}",
                Model = $"model{i}",
                Capabilities = Capabilities.Tools | Capabilities.JsonMode | Capabilities.Streaming,
                ContextWindow = 128_000,
            };
            health[i] = EndpointHealthView.Healthy with { Degraded = i % 9 == 0, TrafficFraction = i % 11 == 0 ? 0.5 : 1.0 };
        }

        // Class "balanced": 8 healthy primaries spread over the catalog.
        // Class "failover": 4 primaries whose breakers are open, then 4 approved fallbacks.
        string Id(int i) => endpoints[i].Id;
        for (int i = 500; i < 504; i++)
        {
            health[i] = new EndpointHealthView { State = BreakerState.Open, Reason = BreakerReason.ErrorRate };
        }

        var balanced = new WorkloadClassPolicy
        {
            Name = "balanced",
            Primary = [.. Enumerable.Range(0, 8).Select(k => Id(37 + (k * 113)))],
            Prohibited = [Id(1), Id(2)],
        };
        var failover = new WorkloadClassPolicy
        {
            Name = "failover",
            Primary = [.. Enumerable.Range(500, 4).Select(Id)],
            Fallbacks = [.. Enumerable.Range(600, 4).Select(i => new FallbackApproval { EndpointId = Id(i), EvalScore = 0.95 })],
            QualityGate = 0.9,
        };
        _snapshot = RoutingSnapshot.Create(endpoints, health, [balanced, failover]);
        var random = new Random(42);
        for (int i = 0; i < EndpointCount; i++)
        {
            _snapshot.SetLoad(i, new EndpointLoad
            {
                LatencyEwmaMs = 200 + random.Next(800),
                InFlight = random.Next(30),
                ErrorRate = random.NextDouble() * 0.05,
                P50LatencyMs = 300,
                P95LatencyMs = 900,
                PerOutputTokenMs = 18,
            });
        }

        _snapshot.TryGetClassIndex("balanced", out _balanced);
        _snapshot.TryGetClassIndex("failover", out _failover);
        _snapshot.TryGetEndpointIndex(Id(37), out int firstPrimary);
        _exclude = [firstPrimary];
        _retry = _balanced;
        _router = new Router(new RouterOptions(), time, new Random(7));

        // Every endpoint and class pays from a lease wallet, as on a node.
        var options = new LeaseOptions { Duration = TimeSpan.FromHours(1), RenewBeforeExpiry = TimeSpan.FromMinutes(1) };
        var quota = new NodeQuotaTable(EndpointCount, _snapshot.ClassCount);
        for (int i = 0; i < EndpointCount; i++)
        {
            quota.SetEndpointWallet(i, Wallet(time, options));
        }

        quota.SetClassWallet(_balanced, Wallet(time, options));
        _leasedRouter = new Router(new RouterOptions(), time, new Random(7), quota);
    }

    private static LeaseWallet Wallet(TimeProvider time, LeaseOptions options)
    {
        var ledger = new QuotaLeaseLedger(new RateQuota(new QuotaLimits { TokensPerPeriod = 1_000_000_000, RequestsPerPeriod = 1_000_000, Period = TimeSpan.FromDays(1) }, time), options, time);
        ledger.TryGrant("node-1", 1_000_000_000, 1_000_000, out var lease);
        var wallet = new LeaseWallet(options, time);
        wallet.Accept(lease);
        return wallet;
    }

    [Benchmark(Baseline = true, Description = "Decide: 8 healthy primaries (P2C)")]
    public int DecideBalanced()
    {
        var decision = _router.Decide(_snapshot, new RouteRequest { ClassIndex = _balanced, EstimatedInputTokens = 1_200, MaxOutputTokens = 800, RequiredCapabilities = Capabilities.Tools }, _chain);
        return decision.EndpointIndex + decision.FallbackCount;
    }

    [Benchmark(Description = "Decide: 4 open primaries -> fallback")]
    public int DecideFailover()
    {
        var decision = _router.Decide(_snapshot, new RouteRequest { ClassIndex = _failover, EstimatedInputTokens = 1_200, MaxOutputTokens = 800, RemainingDeadline = TimeSpan.FromSeconds(30) }, _chain);
        return decision.EndpointIndex + decision.FallbackCount;
    }

    [Benchmark(Description = "Decide: retry with exclude")]
    public int DecideRetry()
    {
        var decision = _router.Decide(_snapshot, new RouteRequest { ClassIndex = _retry, EstimatedInputTokens = 1_200, MaxOutputTokens = 800, Attempt = 1, Exclude = _exclude }, _chain);
        return decision.EndpointIndex + decision.FallbackCount;
    }

    [Benchmark(Description = "Decide: 8 primaries, quota gate on leases")]
    public int DecideWithQuotaGate()
    {
        var decision = _leasedRouter.Decide(_snapshot, new RouteRequest { ClassIndex = _balanced, EstimatedInputTokens = 1_200, MaxOutputTokens = 800 }, _chain);
        return decision.EndpointIndex + decision.FallbackCount;
    }
}
