using System.Net.Http.Json;
using System.Text.Json;
using ControlPlane.Contracts.V1;
using ControlPlane.Server.Tests.EndToEnd;
using ControlPlane.Service.Security;
using ControlPlane.Testing;
using Grpc.Core;
using static ControlPlane.Server.Tests.Federation.FederationPolling;

namespace ControlPlane.Server.Tests.Federation;

/// <summary>Overrides are global: made in the follower region, applied by the home region (audited with the origin
/// region) and seen everywhere; during a cut the follower keeps them in an ordered outbox (applied locally, answered
/// "pending home region", kept across a restart) and the home region applies them in order when the link returns.</summary>
public sealed class FederationOverrideTests
{
    private static async Task<JsonElement> PostAsync(ControlPlaneNode node, string path, object body)
    {
        using var response = await node.Admin.PostAsJsonAsync(path, body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, text);
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    private static string? OverrideOf(JsonElement endpoint) =>
        endpoint.TryGetProperty("override", out var o) && o.ValueKind == JsonValueKind.Object ? o.GetProperty("kind").GetString() : null;

    private static int PendingOf(JsonElement endpoint) => endpoint.GetProperty("federation").GetProperty("pendingHome").GetInt32();

    private static async Task<List<(string Action, string Source)>> ForwardedAuditAsync(ControlPlaneNode node)
    {
        var entries = (await node.GetAdminJsonAsync("admin/v1/audit?limit=1000")).GetProperty("entries").EnumerateArray();
        return [.. entries
            .Where(e => e.GetRawText().Contains("region:eu-west", StringComparison.Ordinal))
            .Select(e => (e.GetProperty("action").GetString()!, "region:eu-west"))
            .Reverse()];
    }

    [Fact]
    public async Task An_override_made_in_the_follower_region_is_applied_by_the_home_region_with_its_origin_audited()
    {
        await using var regions = await TwoRegions.StartAsync();
        await UntilAsync(() => regions.Eu.GetAdminJsonAsync("admin/v1/endpoints/ep-us"), e => e.GetProperty("federation").GetProperty("homeVersion").GetInt64() > 0,
            "eu-west adopted ep-us");

        var answer = await PostAsync(regions.Eu, "admin/v1/endpoints/ep-us/breaker", new { state = "open", reason = "seen from eu" });
        Assert.Equal("force_open", OverrideOf(answer));
        Assert.Equal("us-east", answer.GetProperty("federation").GetProperty("homeRegion").GetString());
        Assert.True(answer.GetProperty("federation").GetProperty("follower").GetBoolean());

        var home = await UntilAsync(() => regions.Us.GetAdminJsonAsync("admin/v1/endpoints/ep-us"), e => OverrideOf(e) == "force_open", "us-east applied it");
        Assert.Equal("ep-us", home.GetProperty("id").GetString());
        Assert.Equal([("breaker.force_open", "region:eu-west")], await ForwardedAuditAsync(regions.Us));
        // Home and follower agree, and the outbox is empty once acknowledged.
        await UntilAsync(() => regions.Eu.GetAdminJsonAsync("admin/v1/endpoints/ep-us"), e => PendingOf(e) == 0 && OverrideOf(e) == "force_open", "acknowledged");
        Assert.Equal("ep-eu", (await regions.Us.RouteAsync("chat")).EndpointId);
        Assert.Equal("ep-eu", (await regions.Eu.RouteAsync("chat")).EndpointId);
    }

    [Fact]
    public async Task Changes_made_during_a_cut_are_kept_across_a_restart_and_applied_in_order_when_the_link_returns()
    {
        var euData = Path.Combine(Path.GetTempPath(), "cp-fed-" + Guid.NewGuid().ToString("N"));
        try
        {
            await using var regions = await TwoRegions.StartAsync(euData);
            await UntilAsync(() => regions.Eu.GetAdminJsonAsync("admin/v1/endpoints/ep-us"), e => e.GetProperty("federation").GetProperty("homeVersion").GetInt64() > 0,
                "eu-west adopted ep-us");

            // The cut: us-east goes away.
            await regions.Us.DisposeAsync();
            var drained = await PostAsync(regions.Eu, "admin/v1/endpoints/ep-us/drain", new { reason = "first" });
            Assert.Equal((1, "drain"), (PendingOf(drained), OverrideOf(drained)));
            var undrained = await PostAsync(regions.Eu, "admin/v1/endpoints/ep-us/undrain", new { reason = "second" });
            Assert.Equal((2, (string?)null), (PendingOf(undrained), OverrideOf(undrained)));
            var forced = await PostAsync(regions.Eu, "admin/v1/endpoints/ep-us/breaker", new { state = "open", reason = "third" });
            Assert.Equal((3, "force_open"), (PendingOf(forced), OverrideOf(forced)));
            Assert.Equal("ep-eu", (await regions.Eu.RouteAsync("chat")).EndpointId);

            // A restarted follower keeps its outbox and routes on what it holds (fail-static).
            await regions.RestartEuAsync(euData);
            var restarted = await regions.Eu.GetAdminJsonAsync("admin/v1/endpoints/ep-us");
            Assert.Equal((3, "force_open"), (PendingOf(restarted), OverrideOf(restarted)));
            Assert.Equal("ep-eu", (await regions.Eu.RouteAsync("chat")).EndpointId);

            // The link returns: us-east (its storage fresh) applies the three in order, once each.
            var us = await TwoRegions.StartRegionAsync("us-east", regions.UsPort, "eu-west", regions.EuPort, null);
            await using (us)
            {
                await UntilAsync(() => regions.Eu.GetAdminJsonAsync("admin/v1/endpoints/ep-us"), e => PendingOf(e) == 0, "the outbox drained");
                Assert.Equal(
                    [("endpoint.drain", "region:eu-west"), ("endpoint.undrain", "region:eu-west"), ("breaker.force_open", "region:eu-west")],
                    await ForwardedAuditAsync(us));
                var home = await us.GetAdminJsonAsync("admin/v1/endpoints/ep-us");
                Assert.Equal("force_open", OverrideOf(home));

                // A retried or old sequence is acknowledged without applying it again.
                var client = new Contracts.V1.Federation.FederationClient(us.Channel);
                await client.ApplyOverrideAsync(new ApplyOverrideRequest
                {
                    OriginRegion = "eu-west", RequestId = "eu-west#1", Sequence = 1, EndpointId = "ep-us", Kind = FederatedOverrideKind.Drain,
                    Actor = "alice", Reason = "first", AuditAction = "endpoint.drain",
                });
                Assert.Equal("force_open", OverrideOf(await us.GetAdminJsonAsync("admin/v1/endpoints/ep-us")));
                Assert.Equal(3, (await ForwardedAuditAsync(us)).Count);
            }
        }
        finally
        {
            try
            {
                Directory.Delete(euData, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    [Fact]
    public async Task Forwarded_overrides_need_the_federation_role_and_well_formed_fields()
    {
        await using var regions = await TwoRegions.StartAsync();
        var client = new Contracts.V1.Federation.FederationClient(regions.Us.Channel);
        ApplyOverrideRequest Good() => new()
        {
            OriginRegion = "eu-west", RequestId = "eu-west#9", Sequence = 9, EndpointId = "ep-us", Kind = FederatedOverrideKind.ForceOpen,
            Actor = "alice", Reason = "r", AuditAction = "breaker.force_open",
        };

        var dataPlane = await regions.Us.GrpcAsAsync("fed-dp", Roles.DataPlane);
        var denied = await Assert.ThrowsAsync<RpcException>(async () => await client.ApplyOverrideAsync(Good(), dataPlane));
        Assert.Equal(StatusCode.PermissionDenied, denied.StatusCode);

        (Action<ApplyOverrideRequest> Spoil, StatusCode Code, string Message)[] bad =
        [
            (r => r.EndpointId = "nope", StatusCode.NotFound, "endpoint_id: unknown endpoint 'nope'"),
            (r => r.EndpointId = "ep-eu", StatusCode.InvalidArgument, "endpoint_id: endpoint 'ep-eu' is homed in region 'eu-west', not here"),
            (r => r.OriginRegion = "us-east", StatusCode.InvalidArgument, "origin_region: 'us-east' is this cluster's own region"),
            (r => r.Sequence = 0, StatusCode.InvalidArgument, "sequence: must be positive"),
            (r => r.RequestId = new string('x', 300), StatusCode.InvalidArgument, "request_id:"),
            (r => r.Kind = FederatedOverrideKind.None, StatusCode.InvalidArgument, "kind:"),
            (r => r.Reason = new string('x', 2000), StatusCode.InvalidArgument, "reason:"),
            (r => r.TtlSeconds = -1, StatusCode.InvalidArgument, "ttl_seconds:"),
            (r => r.AuditAction = "key.create", StatusCode.InvalidArgument, "audit_action:"),
        ];
        foreach (var (spoil, code, message) in bad)
        {
            var request = Good();
            spoil(request);
            var e = await Assert.ThrowsAsync<RpcException>(async () => await client.ApplyOverrideAsync(request));
            Assert.Equal(code, e.StatusCode);
            Assert.StartsWith(message, e.Status.Detail, StringComparison.Ordinal);
        }

        // None of them changed anything; a good one does, audited with its origin.
        Assert.Null(OverrideOf(await regions.Us.GetAdminJsonAsync("admin/v1/endpoints/ep-us")));
        var reply = await client.ApplyOverrideAsync(Good());
        Assert.Equal(FederatedOverrideKind.ForceOpen, reply.State.OverrideKind);
        Assert.Equal("force_open", OverrideOf(await regions.Us.GetAdminJsonAsync("admin/v1/endpoints/ep-us")));
        Assert.Equal([("breaker.force_open", "region:eu-west")], await ForwardedAuditAsync(regions.Us));
    }
}
