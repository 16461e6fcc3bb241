using System.Net.Http.Json;
using System.Text.Json;
using ControlPlane.Contracts.V1;
using ControlPlane.Server.Tests.EndToEnd;
using ControlPlane.Server.Tests.Support;
using ControlPlane.Service.Federation;
using ControlPlane.Service.Security;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using static ControlPlane.Server.Tests.Federation.FederationPolling;

namespace ControlPlane.Server.Tests.Federation;

/// <summary>Class policy is global: a change approved (or a break-glass set) in a region that is not the policy home is
/// applied by the policy home (audited with the origin region) and adopted back by every region from the feed; during a
/// cut the change waits in the class's ordered outbox (applied locally meanwhile) and is applied once when the link
/// returns.</summary>
public sealed class FederationPolicyTests
{
    private static Task<JsonElement> ClassAsync(ControlPlaneNode node) => node.GetAdminJsonAsync("admin/v1/classes/chat");

    private static (string Mode, long Version) PolicyOf(JsonElement view) => (view.GetProperty("mode").GetString()!, view.GetProperty("policyVersion").GetInt64());

    private static IClassFederationGrain Grain(ControlPlaneNode node) =>
        node.Services.GetRequiredService<IGrainFactory>().GetGrain<IClassFederationGrain>("chat");

    private static async Task<List<string>> ForwardedAuditAsync(ControlPlaneNode node)
    {
        var entries = (await node.GetAdminJsonAsync("admin/v1/audit?limit=1000")).GetProperty("entries").EnumerateArray();
        return [.. entries
            .Where(e => e.GetRawText().Contains("region:eu-west", StringComparison.Ordinal))
            .Select(e => e.GetProperty("action").GetString()!)
            .Reverse()];
    }

    private static async Task AdoptedAsync(TwoRegions regions)
    {
        using var timeout = new CancellationTokenSource(Bound);
        while (await Grain(regions.Eu).GetFollowedClassVersionAsync() == 0)
        {
            await Task.Delay(100, timeout.Token);
        }
    }

    [Fact]
    public async Task A_policy_approved_in_the_follower_region_becomes_the_class_policy_in_both_regions()
    {
        await using var regions = await TwoRegions.StartAsync();
        await AdoptedAsync(regions);

        var applied = await PolicyFlow.ChangeAsync(regions.Eu, "chat", """{"mode":"queue_only","fallbacks":[],"reason":"made in eu"}""");
        Assert.Equal(2, applied.GetProperty("appliedVersion").GetInt64());
        Assert.Equal(("queue_only", 2L), PolicyOf(await ClassAsync(regions.Eu)));

        await UntilAsync(() => ClassAsync(regions.Us), c => PolicyOf(c) == ("queue_only", 2L), "the policy home applied it");
        Assert.Equal(["class.policy"], await ForwardedAuditAsync(regions.Us));
        var status = await Grain(regions.Eu).GetClassFederationAsync();
        Assert.NotNull(status);
        Assert.Equal(("us-east", true, 0), (status.PolicyHome, status.Follower, status.PendingHome));

        // A change made in the policy home afterwards (its proposals follow the version the follower's change made)
        // reaches the follower by the feed, and the follower's next proposal builds on it.
        await PolicyFlow.ChangeAsync(regions.Us, "chat", """{"mode":"fail","expectedVersion":2,"reason":"made in us"}""");
        await UntilAsync(() => ClassAsync(regions.Eu), c => PolicyOf(c) == ("fail", 3L), "the follower adopted the home's change");
        await PolicyFlow.ChangeAsync(regions.Eu, "chat", """{"mode":"auto_fallback","fallbacks":["ep-eu"],"expectedVersion":3,"reason":"eu again"}""");
        await UntilAsync(() => ClassAsync(regions.Us), c => PolicyOf(c) == ("auto_fallback", 4L), "the second forwarded change applied");
        Assert.Equal(["class.policy", "class.policy"], await ForwardedAuditAsync(regions.Us));
        Assert.Equal(("auto_fallback", 4L), PolicyOf(await UntilAsync(() => ClassAsync(regions.Eu), c => PolicyOf(c).Version == 4, "settled")));
    }

    [Fact]
    public async Task Changes_made_during_a_cut_are_applied_once_when_the_link_returns()
    {
        await using var regions = await TwoRegions.StartAsync();
        await AdoptedAsync(regions);

        // The cut: us-east goes away. eu-west applies its changes locally and keeps them for the policy home.
        await regions.Us.DisposeAsync();
        await PolicyFlow.ChangeAsync(regions.Eu, "chat", """{"mode":"queue_only","fallbacks":[],"reason":"during the cut"}""");
        using (var glass = await regions.Eu.Admin.PostAsJsonAsync("admin/v1/classes/chat/break-glass", new { mode = "fail", reason = "stop it", ttlSeconds = 3600 }))
        {
            Assert.True(glass.IsSuccessStatusCode, await glass.Content.ReadAsStringAsync());
        }

        var pending = await ClassAsync(regions.Eu);
        Assert.Equal(("fail", 2L), PolicyOf(pending));
        Assert.Equal(2, pending.GetProperty("federation").GetProperty("pendingHome").GetInt32());
        Assert.Equal("us-east", pending.GetProperty("federation").GetProperty("policyHome").GetString());

        // The link returns: us-east (its storage fresh) applies both, in order, once each.
        var us = await TwoRegions.StartRegionAsync("us-east", regions.UsPort, "eu-west", regions.EuPort, null);
        await using (us)
        {
            await UntilAsync(async () => JsonSerializer.SerializeToElement((await Grain(regions.Eu).GetClassFederationAsync())!.PendingHome),
                p => p.GetInt32() == 0, "the outbox drained");
            var home = await ClassAsync(us);
            Assert.Equal(("fail", 2L), PolicyOf(home));
            Assert.Equal("fail", home.GetProperty("breakGlass").GetProperty("mode").GetString());
            Assert.Equal(["class.policy", "class.break_glass"], await ForwardedAuditAsync(us));
            // eu-west holds the policy home's state now, its break-glass under the id eu-west gave it.
            var follower = await UntilAsync(() => ClassAsync(regions.Eu), c => c.GetProperty("federation").GetProperty("homeVersion").GetInt64() > 0
                && PolicyOf(c) == ("fail", 2L), "eu-west adopted the home's state");
            Assert.Equal("chat~bg1", follower.GetProperty("breakGlass").GetProperty("id").GetString());
            Assert.Equal("eu-west/chat~bg1", home.GetProperty("breakGlass").GetProperty("id").GetString());

            // A retried or old sequence is acknowledged without applying it again.
            var client = new Contracts.V1.Federation.FederationClient(us.Channel);
            await client.ApplyClassChangeAsync(new ApplyClassChangeRequest
            {
                OriginRegion = "eu-west", RequestId = "eu-west#1", ClassName = "chat", Sequence = 1, Kind = FederatedClassChangeKind.ClearBreakGlass,
                Actor = "alice", Reason = "again",
            });
            Assert.Equal(("fail", 2L), PolicyOf(await ClassAsync(us)));
            Assert.Equal(2, (await ForwardedAuditAsync(us)).Count);

            // Clearing the break-glass in eu-west reaches the policy home too.
            using (var clear = await regions.Eu.Admin.PostAsJsonAsync("admin/v1/classes/chat/break-glass/clear", new { reason = "over" }))
            {
                Assert.True(clear.IsSuccessStatusCode, await clear.Content.ReadAsStringAsync());
            }

            await UntilAsync(() => ClassAsync(us), c => PolicyOf(c) == ("queue_only", 2L), "the clear applied");
            await UntilAsync(() => ClassAsync(regions.Eu), c => PolicyOf(c) == ("queue_only", 2L), "eu-west agrees");
        }
    }

    [Fact]
    public async Task Forwarded_class_changes_need_the_federation_role_the_policy_home_and_well_formed_fields()
    {
        await using var regions = await TwoRegions.StartAsync();
        var client = new Contracts.V1.Federation.FederationClient(regions.Us.Channel);
        ApplyClassChangeRequest Good() => new()
        {
            OriginRegion = "eu-west", RequestId = "eu-west#9", ClassName = "chat", Sequence = 9, Kind = FederatedClassChangeKind.BreakGlass,
            Actor = "alice", Reason = "r", BreakGlassId = "chat~bg1", Mode = "queue_only", TtlSeconds = 600,
        };

        var dataPlane = await regions.Us.GrpcAsAsync("fed-dp", Roles.DataPlane);
        var denied = await Assert.ThrowsAsync<RpcException>(async () => await client.ApplyClassChangeAsync(Good(), dataPlane));
        Assert.Equal(StatusCode.PermissionDenied, denied.StatusCode);

        (Action<ApplyClassChangeRequest> Spoil, StatusCode Code, string Message)[] bad =
        [
            (r => r.ClassName = "nope", StatusCode.NotFound, "class_name: unknown class 'nope'"),
            (r => r.OriginRegion = "us-east", StatusCode.InvalidArgument, "origin_region: 'us-east' is this cluster's own region"),
            (r => r.Sequence = 0, StatusCode.InvalidArgument, "sequence: must be positive"),
            (r => r.RequestId = new string('x', 300), StatusCode.InvalidArgument, "request_id:"),
            (r => r.Kind = FederatedClassChangeKind.Unspecified, StatusCode.InvalidArgument, "kind:"),
            (r => r.Reason = new string('x', 2000), StatusCode.InvalidArgument, "reason:"),
            (r => r.Mode = "auto_fallback", StatusCode.InvalidArgument, "mode:"),
            (r => r.TtlSeconds = -1, StatusCode.InvalidArgument, "ttl_seconds:"),
            (r => r.Kind = FederatedClassChangeKind.Policy, StatusCode.InvalidArgument, "policy: is required"),
            (r =>
            {
                r.Kind = FederatedClassChangeKind.Policy;
                r.Policy = new FederatedClassPolicy { Mode = "auto_fallback", Primary = { "ep-unknown" } };
                r.ExpectedVersion = 1;
                r.ProposalId = "chat~1";
            }, StatusCode.InvalidArgument, "policy.primary"),
        ];
        foreach (var (spoil, code, message) in bad)
        {
            var request = Good();
            spoil(request);
            var e = await Assert.ThrowsAsync<RpcException>(async () => await client.ApplyClassChangeAsync(request));
            Assert.Equal(code, e.StatusCode);
            Assert.StartsWith(message, e.Status.Detail, StringComparison.Ordinal);
        }

        // Only the policy home applies class changes.
        var toFollower = Good();
        toFollower.OriginRegion = "us-east";
        var notHome = await Assert.ThrowsAsync<RpcException>(async () =>
            await new Contracts.V1.Federation.FederationClient(regions.Eu.Channel).ApplyClassChangeAsync(toFollower));
        Assert.Equal(StatusCode.InvalidArgument, notHome.StatusCode);
        Assert.StartsWith("class_name: class policy is applied by the policy home 'us-east'", notHome.Status.Detail, StringComparison.Ordinal);

        // None of them changed anything; a good one does, audited with its origin.
        Assert.Equal(("auto_fallback", 1L), PolicyOf(await ClassAsync(regions.Us)));
        var reply = await client.ApplyClassChangeAsync(Good());
        Assert.Equal("queue_only", reply.State.BreakGlass.Mode);
        Assert.Equal(("queue_only", 1L), PolicyOf(await ClassAsync(regions.Us)));
        Assert.Equal(["class.break_glass"], await ForwardedAuditAsync(regions.Us));
    }
}
