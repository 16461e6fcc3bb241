using ControlPlane.Domain.Quotas;
using ControlPlane.Service.Grains;
using ControlPlane.Service.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace ControlPlane.Service.Tests.Grains;

/// <summary>The endpoint grain's quota ledger across a restart: a new activation on the same storage carries on with the
/// old one's leases and level instead of a full bucket.</summary>
public sealed class ProviderEndpointGrainLeaseTests : IDisposable
{
    // anthropic-sonnet-us in the sample fleet; every node takes a tenth of it as its own lease when it starts.
    private const string EndpointId = "anthropic-sonnet-us";
    private const long Tpm = 800_000;
    private const long Rpm = 4_000;
    private const long NodeSliceTokens = Tpm / 10;
    private const long NodeSliceRequests = Rpm / 10;
    private static readonly GrainId Grain = GrainId.Create("endpoint", EndpointId);

    private readonly FakeTimeProvider _time = new();
    private readonly TestStorage _storage = new();

    [Fact]
    public async Task A_restarted_activation_holds_the_outstanding_leases_instead_of_starting_full()
    {
        QuotaLease x;
        QuotaLease y;
        await using (var node = await ServiceNode.StartAsync(_time, _storage))
        {
            var grain = node.Grains.GetGrain<IProviderEndpointGrain>(EndpointId);
            x = await GrantAsync(grain, "node-x", 300_000, 1_000);
            y = await GrantAsync(grain, "node-y", 200_000, 500);
            Assert.Equal(Tpm - NodeSliceTokens - 500_000, (await grain.GetDetailsAsync()).Quota.AvailableTokens);
        }

        // The stopped node returned its own slice; the two test leases are still out there being spent.
        await using var restarted = await ServiceNode.StartAsync(_time, _storage);
        var moved = restarted.Grains.GetGrain<IProviderEndpointGrain>(EndpointId);
        var details = await moved.GetDetailsAsync();

        Assert.Equal(Tpm - 500_000 - NodeSliceTokens, details.Quota.AvailableTokens);
        Assert.Equal(Rpm - 1_500 - NodeSliceRequests, details.Quota.AvailableRequests);
        Assert.Equal(500_000 + NodeSliceTokens, details.Quota.OutstandingTokens);
        var holders = details.Leases.Where(l => l.NodeId != "node-local").Select(l => (l.NodeId, l.LeaseId, l.Tokens)).ToList();
        Assert.Equal([("node-x", x.Id, 300_000L), ("node-y", y.Id, 200_000L)], holders);

        // A settlement of a pre-restart lease returns its unused units once, however often it is retried.
        await moved.SettleLeaseAsync("node-x", new LeaseSettlement(x.Id, 100_000, 1_000, 0));
        await moved.SettleLeaseAsync("node-x", new LeaseSettlement(x.Id, 100_000, 1_000, 0));
        details = await moved.GetDetailsAsync();
        Assert.Equal(Tpm - 500_000 - NodeSliceTokens + 100_000, details.Quota.AvailableTokens);
        Assert.Equal(200_000 + NodeSliceTokens, details.Quota.OutstandingTokens);

        // Ids continue after every id the old activation handed out.
        var next = await GrantAsync(moved, "node-z", 1_000, 1);
        Assert.True(next.Id > details.Leases.Max(l => l.LeaseId));
    }

    [Fact]
    public async Task What_is_admitted_across_a_restart_never_exceeds_the_limit_plus_refill()
    {
        long admitted = 0;
        await using (var node = await ServiceNode.StartAsync(_time, _storage))
        {
            // The node's own slice is returned unused when it stops, so only node-x's grants are admitted here.
            var grain = node.Grains.GetGrain<IProviderEndpointGrain>(EndpointId);
            admitted += await DrainAsync(grain, "node-x");
            Assert.Equal(Tpm - NodeSliceTokens, admitted);

            // node-x spent everything: its units stay charged and refill from now on.
            var lease = (await grain.GetDetailsAsync()).Leases.Single(l => l.NodeId == "node-x");
            await grain.SettleLeaseAsync("node-x", new LeaseSettlement(lease.LeaseId, 0, 0, 0));
        }

        var gap = TimeSpan.FromSeconds(3);
        _time.Advance(gap);
        await using var restarted = await ServiceNode.StartAsync(_time, _storage);
        var moved = restarted.Grains.GetGrain<IProviderEndpointGrain>(EndpointId);
        admitted += (await moved.GetDetailsAsync()).Leases.Single(l => l.NodeId == "node-local").Tokens;
        admitted += await DrainAsync(moved, "node-y");

        long refill = Tpm * gap.Ticks / TimeSpan.FromMinutes(1).Ticks;
        Assert.True(admitted <= Tpm + refill, $"admitted {admitted} over a limit of {Tpm} plus {refill} refill");
        Assert.Equal(Tpm + refill, admitted);
        Assert.Equal(0, (await moved.GetDetailsAsync()).Quota.AvailableTokens);
    }

    [Fact]
    public async Task A_restart_under_a_lowered_limit_keeps_the_leases_held_and_the_new_limit_in_debt()
    {
        QuotaLease x;
        await using (var node = await ServiceNode.StartAsync(_time, _storage))
        {
            x = await GrantAsync(node.Grains.GetGrain<IProviderEndpointGrain>(EndpointId), "node-x", 500_000, 1_000);
        }

        // The fleet halves the endpoint's TPM across the restart: 500,000 are already out, so nothing is left.
        var sample = await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "fleet.sample.yaml"));
        var lowered = ServiceNode.Fleet(sample.Replace("limits: { tpm: 800_000, rpm: 4_000 }", "limits: { tpm: 400_000, rpm: 4_000 }", StringComparison.Ordinal));
        await using var restarted = await ServiceNode.StartAsync(_time, _storage, lowered);
        var moved = restarted.Grains.GetGrain<IProviderEndpointGrain>(EndpointId);

        var details = await moved.GetDetailsAsync();
        Assert.Equal(400_000, details.Quota.TokensPerMinute);
        Assert.Equal(0, details.Quota.AvailableTokens);
        Assert.Equal(500_000, details.Quota.OutstandingTokens);
        Assert.DoesNotContain(details.Leases, l => l.NodeId == "node-local");
        Assert.Null(await moved.GrantLeaseAsync(new LeaseRequest("node-y", NewRequestId(), 1, 1)));

        // node-x spent 300,000 of the new 400,000 limit: 100,000 are left, not a fresh bucket.
        await moved.SettleLeaseAsync("node-x", new LeaseSettlement(x.Id, 200_000, 1_000, 0));
        Assert.Equal(100_000, (await moved.GetDetailsAsync()).Quota.AvailableTokens);
    }

    [Fact]
    public async Task A_grant_is_in_storage_before_the_node_hears_of_it_with_one_write_per_grant_or_settlement()
    {
        var probe = new StorageProbe();
        await using var node = await ServiceNode.StartAsync(_time, _storage, probe: probe);
        var grain = node.Grains.GetGrain<IProviderEndpointGrain>(EndpointId);
        await grain.GetDetailsAsync();
        var before = probe.Writes(Grain);

        var lease = await GrantAsync(grain, "node-x", 50_000, 10);

        Assert.Equal(before + 1, probe.Writes(Grain));
        Assert.Contains((await StoredLedgerAsync(probe)).Leases, held => held.Lease == lease);

        await grain.SettleLeaseAsync("node-x", new LeaseSettlement(lease.Id, 50_000, 10, 0));
        Assert.Equal(before + 2, probe.Writes(Grain));
        Assert.DoesNotContain((await StoredLedgerAsync(probe)).Leases, held => held.Lease.Id == lease.Id);

        // Settling it again changes nothing, so nothing is written.
        await grain.SettleLeaseAsync("node-x", new LeaseSettlement(lease.Id, 50_000, 10, 0));
        Assert.Equal(before + 2, probe.Writes(Grain));
    }

    private static async Task<QuotaLease> GrantAsync(IProviderEndpointGrain grain, string nodeId, long tokens, long requests)
    {
        var lease = await grain.GrantLeaseAsync(new LeaseRequest(nodeId, NewRequestId(), tokens, requests));
        Assert.NotNull(lease);
        return lease.Value;
    }

    // Takes every token the grain will grant; returns how many.
    private static async Task<long> DrainAsync(IProviderEndpointGrain grain, string nodeId)
    {
        long total = 0;
        while (await grain.GrantLeaseAsync(new LeaseRequest(nodeId, NewRequestId(), Tpm, 1)) is { } lease)
        {
            total += lease.Tokens;
        }

        return total;
    }

    private static string NewRequestId() => "test-" + Guid.NewGuid().ToString("N");

    private static async Task<QuotaLedgerSnapshot> StoredLedgerAsync(StorageProbe probe)
    {
        var (state, exists, _) = await probe.ReadStoredAsync<EndpointGrainState>("endpoint", Grain);
        Assert.True(exists);
        return state.Quota!.Ledger!;
    }

    public void Dispose() => _storage.Dispose();
}
