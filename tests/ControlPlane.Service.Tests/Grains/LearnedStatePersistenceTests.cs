using System.Text.Json;
using ControlPlane.Domain.Endpoints;
using ControlPlane.Domain.Health;
using ControlPlane.Domain.Slo;
using ControlPlane.Service.Grains;
using ControlPlane.Service.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Orleans.Serialization;
using Xunit.Abstractions;

namespace ControlPlane.Service.Tests.Grains;

/// <summary>What grains learn from outcomes (a class's SLO counts, an endpoint's rolling baselines) survives a
/// deactivation: written on a timer and on deactivation, restored on activation.</summary>
public sealed class LearnedStatePersistenceTests(ITestOutputHelper output) : IDisposable
{
    private const string ClassName = "customer_chat"; // latency_p95_ms: 4000 in the sample fleet
    private const string EndpointId = "openai-gpt4o-us";
    private static readonly GrainId ClassGrain = GrainId.Create("class", ClassName);
    private static readonly GrainId EndpointGrain = GrainId.Create("endpoint", EndpointId);

    private readonly FakeTimeProvider _time = new();
    private readonly TestStorage _storage = new();

    private OutcomeRecord Outcome(OutcomeStatus status, double latencyMs, bool fallback = false) => new(EndpointId, ClassName, new OutcomeSample
    {
        At = _time.GetUtcNow(),
        Status = status,
        Latency = TimeSpan.FromMilliseconds(latencyMs),
        OutputTokens = 100,
        Quality = status == OutcomeStatus.Success ? QualityVerdict.Pass : QualityVerdict.None,
    }, fallback);

    [Fact]
    public async Task A_class_keeps_its_error_budgets_across_a_deactivation()
    {
        ErrorBudget availability, latency;
        await using (var node = await ServiceNode.StartAsync(_time, _storage))
        {
            var grain = node.Grains.GetGrain<IWorkloadClassGrain>(ClassName);
            // 40 requests: 4 failed, 36 served of which 9 slower than the 4 s objective.
            var outcomes = Enumerable.Range(0, 40)
                .Select(i => i < 4 ? Outcome(OutcomeStatus.ServerError, 100) : Outcome(OutcomeStatus.Success, i < 13 ? 4500 : 900))
                .ToList();
            await grain.RecordOutcomesAsync(new OutcomeBatch("test-node", "b1", outcomes));
            var details = await grain.GetDetailsAsync();
            (availability, latency) = (details.Availability, details.Latency!);
            Assert.Equal((40L, 4L), (availability.Events, availability.BadEvents));
            Assert.Equal((36L, 9L), (latency.Events, latency.BadEvents));
        }

        await using var restarted = await ServiceNode.StartAsync(_time, _storage);
        var after = await restarted.Grains.GetGrain<IWorkloadClassGrain>(ClassName).GetDetailsAsync();
        Assert.Equal(availability, after.Availability);
        Assert.Equal(latency, after.Latency);
        Assert.Equal(TimeSpan.FromSeconds(4), after.LatencyThreshold);

        // The admin view shows it, and it crosses silos intact (the cluster's serializer).
        var view = await restarted.Admin.GetClassAsync(ClassName);
        Assert.Equal((36L, 9L, 4000.0), (view.Latency!.Events, view.Latency.BadEvents, view.LatencyThresholdMs));
        var serializer = restarted.Services.GetRequiredService<Serializer>();
        var copy = serializer.Deserialize<ClassDetails>(serializer.SerializeToArray(after));
        Assert.Equal((after.Latency, after.LatencyThreshold), (copy!.Latency, copy.LatencyThreshold));
    }

    [Fact]
    public async Task The_class_writes_its_counts_every_minute_while_it_records_so_a_crash_loses_at_most_a_minute()
    {
        var probe = new StorageProbe();
        await using var node = await ServiceNode.StartAsync(_time, _storage, probe: probe);
        var grain = node.Grains.GetGrain<IWorkloadClassGrain>(ClassName);
        await grain.RecordOutcomesAsync(new OutcomeBatch("test-node", "b1", [.. Enumerable.Range(0, 25).Select(_ => Outcome(OutcomeStatus.Success, 900))]));
        var before = probe.Writes(ClassGrain);

        _time.Advance(TimeSpan.FromMinutes(1));
        var stored = await WaitAsync(async () => (await probe.ReadStoredAsync<ClassGrainState>("class", ClassGrain)).State, s => StoredEvents(s) == 25);

        Assert.Equal(25, StoredEvents(stored));
        Assert.True(probe.Writes(ClassGrain) > before);

        output.WriteLine($"class state: SLO counts {stored.SloCounts!.Length} B; whole state as stored (JSON) {JsonSerializer.SerializeToUtf8Bytes(stored).Length} B");
    }

    [Fact]
    public async Task An_endpoint_keeps_its_baselines_across_a_deactivation()
    {
        double? latencyBaseline;
        double? passBaseline;
        await using (var node = await ServiceNode.StartAsync(_time, _storage))
        {
            var grain = node.Grains.GetGrain<IProviderEndpointGrain>(EndpointId);
            await grain.RecordOutcomesAsync(new OutcomeBatch("test-node", "b1", [.. Enumerable.Range(0, 30).Select(_ => Outcome(OutcomeStatus.Success, 700))]));
            // Evaluations every 10 s: the first starts the feed period, the one a minute later feeds the baselines.
            var details = await AdvanceUntilAsync(grain, d => d.Baseline.LatencyP95 is not null && d.Baseline.QualityPassRate is not null);
            latencyBaseline = details.Baseline.LatencyP95?.TotalMilliseconds;
            passBaseline = details.Baseline.QualityPassRate;
            Assert.InRange(latencyBaseline!.Value, 690, 712);
            Assert.Equal(1.0, passBaseline);
            var serializer = node.Services.GetRequiredService<Serializer>();
            Assert.Equal(details.Baseline, serializer.Deserialize<EndpointDetails>(serializer.SerializeToArray(details))!.Baseline);
        }

        await using var restarted = await ServiceNode.StartAsync(_time, _storage);
        var after = await restarted.Grains.GetGrain<IProviderEndpointGrain>(EndpointId).GetDetailsAsync();
        Assert.Equal(latencyBaseline, after.Baseline.LatencyP95?.TotalMilliseconds);
        Assert.Equal(passBaseline, after.Baseline.QualityPassRate);
    }

    [Fact]
    public async Task An_endpoint_writes_changed_baselines_on_its_timer()
    {
        var probe = new StorageProbe();
        await using var node = await ServiceNode.StartAsync(_time, _storage, probe: probe);
        var grain = node.Grains.GetGrain<IProviderEndpointGrain>(EndpointId);
        await grain.RecordOutcomesAsync(new OutcomeBatch("test-node", "b1", [.. Enumerable.Range(0, 30).Select(_ => Outcome(OutcomeStatus.Success, 700))]));
        await AdvanceUntilAsync(grain, d => d.Baseline.LatencyP95 is not null);

        _time.Advance(TimeSpan.FromMinutes(1));
        var stored = await WaitAsync(async () => (await probe.ReadStoredAsync<EndpointGrainState>("endpoint", EndpointGrain)).State,
            // The quality baseline is bootstrapped at the first evaluation, so an earlier write may hold it alone.
            s => s.Baselines is { Count: > 0 } b && b.Any(x => x.WorkloadClass is null && x.LatencyP95Micros is not null));

        var endpointWide = Assert.Single(stored.Baselines!, b => b.WorkloadClass is null);
        Assert.NotNull(endpointWide.LatencyP95Micros);
        Assert.Contains(stored.Baselines!, b => b.WorkloadClass == ClassName);
        output.WriteLine($"endpoint state: baselines {JsonSerializer.SerializeToUtf8Bytes(stored.Baselines).Length} B as JSON; whole state {JsonSerializer.SerializeToUtf8Bytes(stored).Length} B");
    }

    private long StoredEvents(ClassGrainState state)
    {
        var slo = new WorkloadSlo(ClassName, new SloOptions { LatencyThreshold = TimeSpan.FromSeconds(4) });
        return state.SloCounts is { } counts && slo.Restore(counts) ? slo.Budget(SloKind.Availability, _time.GetUtcNow()).Events : -1;
    }

    private async Task<EndpointDetails> AdvanceUntilAsync(IProviderEndpointGrain grain, Func<EndpointDetails, bool> done)
    {
        for (var i = 0; i < 30; i++)
        {
            _time.Advance(TimeSpan.FromSeconds(10));
            var details = await WaitAsync(grain.GetDetailsAsync, done, attempts: 20);
            if (done(details))
            {
                return details;
            }
        }

        return await grain.GetDetailsAsync();
    }

    private static Task<T> WaitAsync<T>(Func<Task<T>> read, Func<T, bool> done, int attempts = 500) =>
        Eventually.WaitAsync(read, done, attempts);

    public void Dispose() => _storage.Dispose();
}
