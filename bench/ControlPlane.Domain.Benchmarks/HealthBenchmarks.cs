using BenchmarkDotNet.Attributes;
using ControlPlane.Domain.Endpoints;
using ControlPlane.Domain.Health;
using ControlPlane.Domain.Slo;

namespace ControlPlane.Domain.Benchmarks;

/// <summary>Hot paths of the health part: recording one outcome (target: at most 100 ns, 0 bytes) and
/// querying percentiles over a full 5-minute window (30 bucket histograms merged).</summary>
[MemoryDiagnoser]
[MedianColumn]
public class HealthBenchmarks
{
    private const int SampleCount = 4096;
    private static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private readonly OutcomeSample[] _samples = new OutcomeSample[SampleCount];
    private HealthWindow _window = null!;
    private HealthWindow _fullWindow = null!;
    private EndpointHealth _endpoint = null!;
    private WorkloadSlo _slo = null!;
    private DateTimeOffset _now;
    private DateTimeOffset _rotating;
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(7);
        for (var i = 0; i < SampleCount; i++)
        {
            // Mostly successes with spread latencies, some failures and 429s; all within one 5 s span.
            var roll = random.NextDouble();
            _samples[i] = new OutcomeSample
            {
                At = Start.AddMilliseconds(i),
                Status = roll < 0.9 ? OutcomeStatus.Success : roll < 0.95 ? OutcomeStatus.ServerError : OutcomeStatus.RateLimited,
                Latency = TimeSpan.FromMilliseconds(50 + (random.NextDouble() * 4000)),
                TimeToFirstToken = TimeSpan.FromMilliseconds(20 + (random.NextDouble() * 500)),
                InputTokens = 800,
                OutputTokens = 300,
                Cost = 0.012,
                Quality = roll < 0.5 ? QualityVerdict.Pass : QualityVerdict.None,
                QualityScore = roll < 0.5 ? 0.8 : null,
                RetryAfter = roll >= 0.95 ? TimeSpan.FromSeconds(2) : null,
            };
        }

        _window = new HealthWindow(new HealthWindowOptions());
        _endpoint = new EndpointHealth("bench", new EndpointHealthOptions(), TimeProvider.System);
        _slo = new WorkloadSlo("chat", new SloOptions());
        _rotating = Start;

        // A full window: 10 requests a second for 5 minutes.
        _fullWindow = new HealthWindow(new HealthWindowOptions());
        for (var i = 0; i < 3000; i++)
        {
            var sample = _samples[i % SampleCount] with { At = Start.AddMilliseconds(i * 100) };
            _fullWindow.Record(sample);
        }

        _now = Start.AddMilliseconds(2999 * 100);
    }

    /// <summary>One outcome into one window (same bucket most of the time, as within a 10 s bucket).</summary>
    [Benchmark]
    public void RecordOutcome() => _window.Record(in _samples[_next++ & (SampleCount - 1)]);

    /// <summary>One outcome with time moving 10 ms per call, so a bucket slot is recycled every 1,000 calls.</summary>
    [Benchmark]
    public void RecordOutcomeRotating()
    {
        _rotating = _rotating.AddMilliseconds(10);
        var sample = new OutcomeSample { At = _rotating, Status = OutcomeStatus.Success, Latency = TimeSpan.FromMilliseconds(420), OutputTokens = 200, Cost = 0.01 };
        _window.Record(in sample);
    }

    /// <summary>One outcome into an endpoint's health: endpoint window and breaker plus its class's window and breaker.</summary>
    [Benchmark]
    public void RecordOutcomeEndpointAndClass() => _endpoint.Record(in _samples[_next++ & (SampleCount - 1)], "chat");

    /// <summary>One final request outcome into a workload class's SLO counters (minute and hour rings).</summary>
    [Benchmark]
    public void RecordSloEvent() => _slo.Record(_samples[_next++ & (SampleCount - 1)].At, available: true, QualityVerdict.Pass);

    /// <summary>p95 latency over a full 5-minute window (merges 30 bucket histograms into scratch).</summary>
    [Benchmark]
    public TimeSpan? PercentileQuery() => _fullWindow.Percentile(LatencyKind.Total, 0.95, _now);

    /// <summary>Full snapshot: totals plus p50/p95/p99 of latency and TTFT over the whole window.</summary>
    [Benchmark]
    public long Snapshot() => _fullWindow.Snapshot(_now).Requests;
}
