using ControlPlane.Service.Grains;
using ControlPlane.Service.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace ControlPlane.Service.Tests.Grains;

/// <summary>What a quota grain grants while it cannot write its state is bounded: at most the outage share of the limit
/// (25 % by default) in total, until a write succeeds and stores it all.</summary>
public sealed class QuotaOutageShareTests : IDisposable
{
    private const string Fleet = """
        endpoints:
          - { id: shared, provider: vllm, model: llama, model_version: v1, region: eu, context_window: 32000, price_per_1k: { input: 0, output: 0 }, limits: { tpm: 0, rpm: 600 }, owner_team: t, on_call: t }
        classes:
          - { name: chat, owner: t, mode: auto_fallback, primary: [shared], budget: { tokens_per_minute: 0, requests_per_minute: 600 }, slo: { availability: 0.99 } }
        """;

    private static readonly GrainId Endpoint = GrainId.Create("endpoint", "shared");
    private static readonly GrainId Class = GrainId.Create("class", "chat");

    private readonly FakeTimeProvider _time = new();
    private readonly TestStorage _storage = new();

    [Fact]
    public async Task Grants_while_storage_is_unreachable_stop_at_the_outage_share_and_are_written_when_it_returns()
    {
        var probe = new StorageProbe();
        await using var node = await ServiceNode.StartAsync(_time, _storage, ServiceNode.Fleet(Fleet), probe: probe);
        var grain = node.Grains.GetGrain<IProviderEndpointGrain>("shared");
        var writes = probe.Writes(Endpoint);

        probe.FailWrites = id => id == Endpoint;
        // 25 % of 600: 150 requests in total while unwritten, whatever is asked.
        var first = await grain.GrantLeaseAsync(new LeaseRequest("node-x", "x1", 0, 100));
        var second = await grain.GrantLeaseAsync(new LeaseRequest("node-y", "y1", 0, 100));
        var third = await grain.GrantLeaseAsync(new LeaseRequest("node-z", "z1", 0, 100));
        Assert.Equal(100, first?.Requests);
        Assert.Equal(50, second?.Requests);
        Assert.Null(third);
        Assert.Equal(writes, probe.Writes(Endpoint));
        // The activation was kept: the same lease answers a retry, and the ledger holds both grants.
        Assert.Equal(first, await grain.GrantLeaseAsync(new LeaseRequest("node-x", "x1", 0, 100)));
        var details = await grain.GetDetailsAsync();
        Assert.Contains(details.Leases, l => l.LeaseId == first!.Value.Id);
        Assert.Contains(details.Leases, l => l.LeaseId == second!.Value.Id);

        // Storage is back: the next grant writes, and storage holds everything granted meanwhile.
        probe.FailWrites = null;
        var fourth = await grain.GrantLeaseAsync(new LeaseRequest("node-z", "z2", 0, 100));
        Assert.Equal(100, fourth?.Requests);
        Assert.True(probe.Writes(Endpoint) > writes);
        var (stored, _, _) = await probe.ReadStoredAsync<EndpointGrainState>("endpoint", Endpoint);
        var storedIds = stored.Quota!.Ledger!.Leases.Select(l => l.Lease.Id).ToHashSet();
        Assert.Superset(new HashSet<long> { first!.Value.Id, second!.Value.Id, fourth!.Value.Id }, storedIds);
    }

    [Fact]
    public async Task The_learned_state_timer_during_an_outage_keeps_the_activation_and_the_grants_made_through_it()
    {
        // Before: the class grain wrote its SLO counts every minute through the write that deactivates on any failure,
        // so a minute into an outage the grants it made from memory were gone (and a retry got a second lease).
        var probe = new StorageProbe();
        await using var node = await ServiceNode.StartAsync(_time, _storage, ServiceNode.Fleet(Fleet), probe: probe);
        var grain = node.Grains.GetGrain<IWorkloadClassGrain>("chat");
        probe.FailWrites = id => id == Class;
        var granted = await grain.GrantLeaseAsync(new LeaseRequest("node-x", "x1", 0, 100));
        Assert.Equal(100, granted?.Requests);

        // Outcomes change the SLO counts; the learned-state timer (1 min) comes due while storage still refuses writes.
        var sample = new Domain.Health.OutcomeSample { At = _time.GetUtcNow(), Status = Domain.Endpoints.OutcomeStatus.Success, Latency = TimeSpan.FromMilliseconds(300) };
        await grain.RecordOutcomesAsync(new OutcomeBatch("node-x", "b1", [new OutcomeRecord("shared", "chat", sample, false)]));
        for (var i = 0; i < 7; i++)
        {
            _time.Advance(TimeSpan.FromSeconds(10));
            await Task.Delay(50);
        }

        // The same activation answers: a retried grant gets the same lease (a reloaded one would grant it again).
        Assert.Equal(granted, await grain.GrantLeaseAsync(new LeaseRequest("node-x", "x1", 0, 100)));

        // Storage is back: the next write stores the ledger as it is, the grant made through the outage counted (the
        // lease itself has expired by now, and was forfeited: its units count as spent).
        probe.FailWrites = null;
        for (var i = 0; i < 7; i++)
        {
            _time.Advance(TimeSpan.FromSeconds(10));
            await Task.Delay(50);
        }

        var (stored, _, _) = await probe.ReadStoredAsync<ClassGrainState>("class", Class);
        Assert.True(stored.Quota!.Ledger!.NextLeaseId > granted!.Value.Id, "storage lacks the grant made through the outage");
        Assert.NotNull(stored.SloCounts);
    }

    public void Dispose() => _storage.Dispose();
}
