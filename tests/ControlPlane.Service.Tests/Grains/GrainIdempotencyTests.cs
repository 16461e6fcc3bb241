using ControlPlane.Domain.Endpoints;
using ControlPlane.Domain.Health;
using ControlPlane.Domain.Quotas;
using ControlPlane.Service.Grains;
using ControlPlane.Service.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace ControlPlane.Service.Tests.Grains;

/// <summary>Calls a node may repeat after an ambiguous failure (Orleans may deliver a call twice, and a node retries with
/// the same ids) change the grain once; calls of the wrong node change nothing.</summary>
public sealed class GrainIdempotencyTests : IDisposable
{
    // anthropic-sonnet-us in the sample fleet: 800,000 TPM / 4,000 RPM; the node holds a slice of it.
    private const string Limited = "anthropic-sonnet-us";

    // No routing node reports outcomes for it during these tests.
    private const string Quiet = "google-gemini-pro-us";

    private readonly FakeTimeProvider _time = new();
    private readonly TestStorage _storage = new();

    [Fact]
    public async Task An_outcome_batch_delivered_twice_is_counted_once()
    {
        await using var node = await ServiceNode.StartAsync(_time, _storage);
        var grain = node.Grains.GetGrain<IProviderEndpointGrain>(Quiet);
        var batch = Batch("node-a", "batch-1", 7);

        await grain.RecordOutcomesAsync(batch);
        await grain.RecordOutcomesAsync(batch);
        // Same id from another node, and another id from the same node, are different batches.
        await grain.RecordOutcomesAsync(Batch("node-b", "batch-1", 2));
        await grain.RecordOutcomesAsync(Batch("node-a", "batch-2", 1));
        await grain.RecordOutcomesAsync(Batch("node-a", "batch-2", 1));

        Assert.Equal(7 + 2 + 1, (await grain.GetDetailsAsync()).Health.Requests);
    }

    [Fact]
    public async Task A_repeated_lease_request_gets_the_same_lease_and_charges_the_bucket_once()
    {
        await using var node = await ServiceNode.StartAsync(_time, _storage);
        var grain = node.Grains.GetGrain<IProviderEndpointGrain>(Limited);
        var before = (await grain.GetDetailsAsync()).Quota;
        var request = new LeaseRequest("node-a", "attempt-1", 10_000, 10);

        var first = await grain.GrantLeaseAsync(request);
        var repeat = await grain.GrantLeaseAsync(request with { });

        Assert.NotNull(first);
        Assert.Equal(first, repeat);
        var after = (await grain.GetDetailsAsync()).Quota;
        Assert.Equal(before.AvailableTokens - 10_000, after.AvailableTokens);
        Assert.Equal(before.AvailableRequests - 10, after.AvailableRequests);
        Assert.Single((await grain.GetDetailsAsync()).Leases, l => l.NodeId == "node-a");

        // A new attempt is a new lease, charged again.
        var next = await grain.GrantLeaseAsync(request with { RequestId = "attempt-2" });
        Assert.NotNull(next);
        Assert.NotEqual(first.Value.Id, next.Value.Id);
        Assert.Equal(before.AvailableTokens - 20_000, (await grain.GetDetailsAsync()).Quota.AvailableTokens);
    }

    [Fact]
    public async Task Only_the_holder_settles_a_live_lease_and_a_repeated_settlement_is_a_no_op()
    {
        await using var node = await ServiceNode.StartAsync(_time, _storage);
        var grain = node.Grains.GetGrain<IProviderEndpointGrain>(Limited);
        var lease = await grain.GrantLeaseAsync(new LeaseRequest("node-a", "attempt-1", 50_000, 100));
        Assert.NotNull(lease);
        var held = await grain.GetDetailsAsync();
        var settlement = new LeaseSettlement(lease.Value.Id, 40_000, 90, 0);

        // Another node cannot return (and so double-spend) node-a's live lease.
        var error = await Assert.ThrowsAsync<ArgumentException>(() => grain.SettleLeaseAsync("node-b", settlement));
        Assert.Contains("node-a", error.Message, StringComparison.Ordinal);
        var unchanged = await grain.GetDetailsAsync();
        Assert.Equal(held.Quota, unchanged.Quota);
        Assert.Equal(held.Leases, unchanged.Leases);

        await grain.SettleLeaseAsync("node-a", settlement);
        var settled = (await grain.GetDetailsAsync()).Quota;
        Assert.Equal(held.Quota.AvailableTokens + 40_000, settled.AvailableTokens);
        Assert.DoesNotContain((await grain.GetDetailsAsync()).Leases, l => l.LeaseId == lease.Value.Id);

        await grain.SettleLeaseAsync("node-a", settlement);
        Assert.Equal(settled, (await grain.GetDetailsAsync()).Quota);
    }

    public void Dispose() => _storage.Dispose();

    private OutcomeBatch Batch(string nodeId, string batchId, int count) =>
        new(nodeId, batchId, [.. Enumerable.Range(0, count).Select(_ => new OutcomeRecord(Quiet, "customer_chat",
            new OutcomeSample { At = _time.GetUtcNow(), Status = OutcomeStatus.Success, Latency = TimeSpan.FromMilliseconds(300) }, Fallback: true))]);
}
