using System.Net.Http.Json;
using System.Text.Json;
using ControlPlane.Contracts.V1;
using ControlPlane.Domain.Endpoints;
using ControlPlane.Service.Federation;
using ControlPlane.Service.Grains;
using ControlPlane.Service.Security;
using ControlPlane.Testing;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;

namespace ControlPlane.Server.Tests.Federation;

/// <summary>The change feed between two in-process regional clusters: a breaker forced in the home region is obeyed
/// by the follower region's node; the follower never goes back to an older state; the feed resumes from the versions
/// the caller holds; only the federation role may call it; bad requests are refused naming the field.</summary>
public sealed class FederationFeedTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);

    private static async Task<JsonElement> EndpointAsync(EndToEnd.ControlPlaneNode node, string id) =>
        await node.Admin.GetFromJsonAsync<JsonElement>($"admin/v1/endpoints/{id}");

    private static async Task ForceAsync(EndToEnd.ControlPlaneNode node, string id, string state)
    {
        using var response = await node.Admin.PostAsJsonAsync($"admin/v1/endpoints/{id}/breaker", new { state, reason = "federation test" });
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }

    private static async Task<RouteDecision> RouteUntilAsync(EndToEnd.ControlPlaneNode node, string workloadClass, Func<RouteDecision, bool> done)
    {
        using var timeout = new CancellationTokenSource(Bound);
        while (true)
        {
            var decision = await node.RouteAsync(workloadClass);
            if (done(decision))
            {
                return decision;
            }

            await Task.Delay(50, timeout.Token);
        }
    }

    [Fact]
    public async Task A_breaker_forced_in_the_home_region_is_obeyed_by_the_follower_and_cleared_the_same_way()
    {
        await using var regions = await TwoRegions.StartAsync();
        Assert.Equal("ep-us", (await RouteUntilAsync(regions.Eu, "chat", d => d.EndpointId == "ep-us")).EndpointId);

        await ForceAsync(regions.Us, "ep-us", "open");
        var decision = await RouteUntilAsync(regions.Eu, "chat", d => d.EndpointId == "ep-eu");
        Assert.Equal("ep-eu", decision.EndpointId);
        var view = await EndpointAsync(regions.Eu, "ep-us");
        Assert.Contains("open", view.GetRawText(), StringComparison.Ordinal);

        await ForceAsync(regions.Us, "ep-us", "closed");
        await RouteUntilAsync(regions.Eu, "chat", d => d.EndpointId == "ep-us");

        // And the other way: eu-west is home of ep-eu; us-east follows it.
        await ForceAsync(regions.Eu, "ep-eu", "open");
        await RouteUntilAsync(regions.Us, "chat_eu", d => d.EndpointId == "ep-us");
        var metrics = regions.Eu.Services.GetRequiredService<FederationMetrics>();
        Assert.True(metrics.IsUp("us-east"));
    }

    [Fact]
    public async Task A_follower_adopts_only_newer_home_versions()
    {
        await using var regions = await TwoRegions.StartAsync();
        await ForceAsync(regions.Us, "ep-us", "open");
        await RouteUntilAsync(regions.Eu, "chat", d => d.EndpointId == "ep-eu");
        var follower = regions.Eu.Services.GetRequiredService<IGrainFactory>().GetGrain<IProviderEndpointGrain>("ep-us");
        long held = await follower.GetFollowedVersionAsync();
        Assert.True(held > 0);

        var older = new FollowedEndpoint(held - 1, EndpointHealthView.Healthy, default);
        Assert.False(await follower.AdoptHomeStateAsync(older));
        Assert.False(await follower.AdoptHomeStateAsync(older with { HomeVersion = held }));
        Assert.Equal(held, await follower.GetFollowedVersionAsync());
        Assert.Equal("ep-eu", (await regions.Eu.RouteAsync("chat")).EndpointId);

        // The home region's own grain is no follower: it adopts nothing.
        var home = regions.Us.Services.GetRequiredService<IGrainFactory>().GetGrain<IProviderEndpointGrain>("ep-us");
        Assert.False(await home.AdoptHomeStateAsync(older with { HomeVersion = long.MaxValue }));
    }

    [Fact]
    public async Task The_feed_resumes_from_the_versions_the_caller_holds()
    {
        await using var regions = await TwoRegions.StartAsync();
        var client = new Contracts.V1.Federation.FederationClient(regions.Us.Channel);

        var full = await FirstUntilSyncedAsync(client, new WatchChangesRequest { Region = "eu-west" });
        var state = Assert.Single(full.States);
        Assert.Equal("ep-us", state.EndpointId);
        // us-east is the policy home: its feed carries the class states too.
        Assert.Equal(["chat", "chat_eu"], full.Classes.Select(c => c.ClassName).Order(StringComparer.Ordinal));
        Assert.Equal(3, full.Synced.ItemsSent);

        var resumed = await FirstUntilSyncedAsync(client, new WatchChangesRequest
        {
            Region = "eu-west",
            Known =
            {
                new FederationItemVersion { Kind = FederationItemKind.Endpoint, Id = "ep-us", Version = state.Version },
                full.Classes.Select(c => new FederationItemVersion { Kind = FederationItemKind.Class, Id = c.ClassName, Version = c.Version }),
            },
        });
        Assert.Empty(resumed.States);
        Assert.Empty(resumed.Classes);
        Assert.Equal(0, resumed.Synced.ItemsSent);

        var older = await FirstUntilSyncedAsync(client, new WatchChangesRequest
        {
            Region = "eu-west",
            Known = { new FederationItemVersion { Kind = FederationItemKind.Endpoint, Id = "ep-us", Version = state.Version - 1 } },
        });
        Assert.Equal(state.Version, Assert.Single(older.States).Version);
    }

    [Fact]
    public async Task Only_the_federation_role_may_watch_and_bad_requests_name_the_field()
    {
        await using var regions = await TwoRegions.StartAsync();
        var client = new Contracts.V1.Federation.FederationClient(regions.Us.Channel);
        var dataPlane = await regions.Us.GrpcAsAsync("fed-dataplane", Roles.DataPlane);
        var denied = await Assert.ThrowsAsync<RpcException>(() => FirstUntilSyncedAsync(client, new WatchChangesRequest { Region = "eu-west" }, dataPlane));
        Assert.Equal(StatusCode.PermissionDenied, denied.StatusCode);
        var federation = await regions.Us.GrpcAsAsync("fed-peer", Roles.Federation);
        Assert.Equal(3, (await FirstUntilSyncedAsync(client, new WatchChangesRequest { Region = "eu-west" }, federation)).Synced.ItemsSent);

        (WatchChangesRequest Request, string Message)[] bad =
        [
            (new WatchChangesRequest(), "region: is required"),
            (new WatchChangesRequest { Region = "us-east" }, "region: 'us-east' is this cluster's own region"),
            (new WatchChangesRequest { Region = "mars" }, "region: unknown region 'mars'"),
            (new WatchChangesRequest { Region = "eu-west", Known = { new FederationItemVersion { Kind = FederationItemKind.Endpoint, Id = "nope", Version = 1 } } },
                "known[0].id: unknown endpoint 'nope'"),
            (new WatchChangesRequest { Region = "eu-west", Known = { new FederationItemVersion { Id = "ep-us", Version = 1 } } }, "known[0].kind: must be ENDPOINT or CLASS"),
            (new WatchChangesRequest { Region = "eu-west", Known = { new FederationItemVersion { Kind = FederationItemKind.Class, Id = "nope", Version = 1 } } },
                "known[0].id: unknown class 'nope'"),
            (new WatchChangesRequest { Region = "eu-west", Known = { Enumerable.Range(0, 2).Select(i => new FederationItemVersion { Kind = FederationItemKind.Class, Id = "chat" }) } },
                "known[1].id: class 'chat' is listed twice"),
            (new WatchChangesRequest { Region = "eu-west", Known = { Enumerable.Range(0, 5).Select(i => new FederationItemVersion { Kind = FederationItemKind.Endpoint, Id = "ep-us" }) } },
                "known: at most 4 entries"),
        ];
        foreach (var (request, message) in bad)
        {
            var e = await Assert.ThrowsAsync<RpcException>(() => FirstUntilSyncedAsync(client, request));
            Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
            Assert.StartsWith(message, e.Status.Detail, StringComparison.Ordinal);
        }
    }

    private static async Task<(List<FederatedEndpointState> States, FederationSynced Synced, List<FederatedClassState> Classes)> FirstUntilSyncedAsync(
        Contracts.V1.Federation.FederationClient client, WatchChangesRequest request, CallOptions? options = null)
    {
        using var timeout = new CancellationTokenSource(Bound);
        var call = options is { } o ? client.WatchChanges(request, o.WithCancellationToken(timeout.Token)) : client.WatchChanges(request, cancellationToken: timeout.Token);
        using (call)
        {
            var states = new List<FederatedEndpointState>();
            var classes = new List<FederatedClassState>();
            while (await call.ResponseStream.MoveNext(timeout.Token))
            {
                var change = call.ResponseStream.Current;
                if (change.Endpoint is { } state)
                {
                    states.Add(state);
                }
                else if (change.ClassState is { } classState)
                {
                    classes.Add(classState);
                }
                else if (change.Synced is { } synced)
                {
                    return (states, synced, classes);
                }
            }

            throw new InvalidOperationException("the feed ended before it was synced");
        }
    }
}
