using System.Collections.Immutable;
using ControlPlane.Contracts.V1;
using ControlPlane.Fleet;
using ControlPlane.Server.Tests.EndToEnd;
using ControlPlane.Service;
using ControlPlane.Service.Federation.Quotas;
using ControlPlane.Testing;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;

namespace ControlPlane.Server.Tests.Federation;

/// <summary>Global quotas between two real nodes, each its own region and cluster, talking over the FederationQuota gRPC
/// service: one 600 RPM endpoint homed in us-east, routed in both regions as fast as the nodes answer.</summary>
public sealed class GlobalQuotaNodesTests
{
    private const string FleetText = """
        fleet: { name: global-quota }
        regions:
          - { name: us-east }
          - { name: eu-west }
        endpoints:
          - { id: limited, provider: p, model: m, model_version: v1, region: us-east, context_window: 128000, capabilities: [streaming], price_per_1k: { input: 0.001, output: 0.002 }, limits: { tpm: 0, rpm: 600 }, owner_team: t, on_call: t }
          - { id: spare, provider: q, model: m, model_version: v1, region: eu-west, context_window: 128000, capabilities: [streaming], price_per_1k: { input: 0.001, output: 0.002 }, limits: { tpm: 0, rpm: 0 }, owner_team: t, on_call: t }
        classes:
          - { name: chat, owner: t, mode: queue_only, primary: [limited], queue: { max_wait_ms: 0 }, slo: { availability: 0.99 } }
          - { name: other, owner: t, mode: auto_fallback, primary: [spare], slo: { availability: 0.99 } }
        """;

    private static FleetDefinition Fleet() => FleetLoader.Load(new StringReader(FleetText), "fleet.yaml");

    // Short region leases (5 s, renewed 3 s before expiry) keep the partition run short.
    private static void ShortLeases(Microsoft.AspNetCore.Builder.WebApplicationBuilder builder) =>
        builder.Services.Configure<RegionQuotaOptions>(o => o.Lease = new() { Duration = TimeSpan.FromSeconds(5), RenewBeforeExpiry = TimeSpan.FromSeconds(3) });

    private static Task<ControlPlaneNode> StartHomeAsync() =>
        ControlPlaneNode.StartAsync(new NodeOptions
        {
            Storage = ControlPlaneStorage.Memory,
            Region = "us-east",
            // The home never calls the follower for quotas; the flag only satisfies the start checks.
            FederationPeers = ImmutableDictionary.Create<string, Uri>(StringComparer.Ordinal).Add("eu-west", new Uri("http://127.0.0.1:9")),
        }, Fleet(), configure: ShortLeases);

    private static Task<ControlPlaneNode> StartFollowerAsync(ControlPlaneNode home) =>
        ControlPlaneNode.StartAsync(new NodeOptions
        {
            Storage = ControlPlaneStorage.Memory,
            Region = "eu-west",
            FederationPeers = ImmutableDictionary.Create<string, Uri>(StringComparer.Ordinal).Add("us-east", home.GrpcAddress),
            FederationCredential = TestCredentials.AdminKey,
        }, Fleet(), configure: ShortLeases);

    // Routes `chat` as fast as the node answers until `until`; counts the answers served by the limited endpoint.
    private static async Task<long> DriveAsync(ControlPlaneNode node, DateTime until, int workers = 4)
    {
        long admitted = 0;
        await Task.WhenAll(Enumerable.Range(0, workers).Select(async _ =>
        {
            while (DateTime.UtcNow < until)
            {
                var decision = await node.RouteAsync("chat");
                if (decision.EndpointId == "limited")
                {
                    Interlocked.Increment(ref admitted);
                }
            }
        }));
        return admitted;
    }

    [Fact]
    public async Task Both_regions_together_stay_within_the_limit_and_the_follower_gets_a_share()
    {
        await using var home = await StartHomeAsync();
        await using var follower = await StartFollowerAsync(home);
        var started = DateTime.UtcNow;
        var until = started.AddSeconds(12);

        var counts = await Task.WhenAll(DriveAsync(home, until), DriveAsync(follower, until));
        double seconds = (DateTime.UtcNow - started).TotalSeconds;

        // One bucket: its capacity plus its refill over the run (600 a minute), whatever the regions.
        long bound = 600 + (long)Math.Ceiling(600 * seconds / 60);
        Assert.True(counts[0] + counts[1] <= bound, $"home {counts[0]} + follower {counts[1]} > {bound} in {seconds:0.0} s");
        Console.WriteLine($"global: home {counts[0]} + follower {counts[1]} in {seconds:0.0} s (bound {bound})");
        Assert.True(counts[1] > 0, "the follower region was granted nothing");
        Assert.True(counts[0] + counts[1] >= 500, $"the limit is used: home {counts[0]}, follower {counts[1]}");
        var metrics = follower.Services.GetRequiredService<RegionQuotaMetrics>();
        Assert.True(metrics.TryGet("us-east", "limited", out var row) && !row.Partitioned);
    }

    [Fact]
    public async Task A_follower_cut_off_from_the_home_spends_its_lease_then_its_partition_share()
    {
        var home = await StartHomeAsync();
        await using var follower = await StartFollowerAsync(home);
        await DriveAsync(follower, DateTime.UtcNow.AddSeconds(3), workers: 2);
        var metrics = follower.Services.GetRequiredService<RegionQuotaMetrics>();
        Assert.True(metrics.TryGet("us-east", "limited", out var before));

        // The home goes away: the follower's renewals fail from now on.
        await home.DisposeAsync();
        var cut = DateTime.UtcNow;
        long duringLease = await DriveAsync(follower, cut.AddSeconds(7), workers: 2);
        Assert.True(metrics.TryGet("us-east", "limited", out var partitioned) && partitioned.Partitioned, "not in partition mode after the lease expired");
        long onShare = await DriveAsync(follower, DateTime.UtcNow.AddSeconds(6), workers: 2);
        double seconds = (DateTime.UtcNow - cut).TotalSeconds;

        // After the lease: the partition share (a quarter of 600 RPM with two regions: 150 at once, then 150 a minute),
        // neither zero nor unlimited.
        Assert.True(onShare > 0, "nothing admitted on the partition share");
        long bound = before.Requests + 150 + (long)Math.Ceiling(150 * seconds / 60);
        Assert.True(duringLease + onShare <= bound, $"{duringLease} + {onShare} admitted after the cut > {bound}");
        Console.WriteLine($"cut: lease {before.Requests}, admitted {duringLease} then {onShare} on the share in {seconds:0.0} s (bound {bound})");
    }

    [Fact]
    public async Task Bad_region_lease_requests_are_refused_naming_the_field()
    {
        await using var home = await StartHomeAsync();
        var client = new FederationQuota.FederationQuotaClient(home.Channel);

        async Task<RpcException> Refused(RegionLeaseRequest request) =>
            await Assert.ThrowsAsync<RpcException>(async () => await client.GrantRegionLeaseAsync(request));

        var ok = new RegionLeaseRequest { EndpointId = "limited", Region = "eu-west", RequestId = "r1", Requests = 60 };
        Assert.Contains("request_id", (await Refused(new(ok) { RequestId = new string('x', 129) })).Status.Detail, StringComparison.Ordinal);
        Assert.Contains("region", (await Refused(new(ok) { Region = "us-east" })).Status.Detail, StringComparison.Ordinal);
        Assert.Contains("endpoint_id", (await Refused(new(ok) { EndpointId = "nope" })).Status.Detail, StringComparison.Ordinal);
        Assert.Contains("requests", (await Refused(new(ok) { Requests = -1 })).Status.Detail, StringComparison.Ordinal);
        Assert.Contains("held_lease_id", (await Refused(new(ok) { HeldLeaseId = 99 })).Status.Detail, StringComparison.Ordinal);
        Assert.Equal(StatusCode.FailedPrecondition, (await Refused(new(ok) { EndpointId = "spare" })).StatusCode);

        // A good one is granted, and a retry with the same request id gets the same lease.
        var first = await client.GrantRegionLeaseAsync(ok);
        var retry = await client.GrantRegionLeaseAsync(ok);
        Assert.Equal(60, first.Requests);
        Assert.Equal(first.LeaseId, retry.LeaseId);
        Assert.Equal(0.25, first.PartitionShare);

        // Without credentials: refused.
        using var anonymous = global::Grpc.Net.Client.GrpcChannel.ForAddress(home.GrpcAddress);
        var e = await Assert.ThrowsAsync<RpcException>(async () => await new FederationQuota.FederationQuotaClient(anonymous).GrantRegionLeaseAsync(ok));
        Assert.Equal(StatusCode.Unauthenticated, e.StatusCode);
    }
}
