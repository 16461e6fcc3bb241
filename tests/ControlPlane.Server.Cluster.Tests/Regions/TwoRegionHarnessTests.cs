using ControlPlane.Testing;
using ControlPlane.Testing.Network;
using ControlPlane.Testing.Regions;
using Grpc.Core;
using Grpc.Net.Client;
using Xunit.Abstractions;

namespace ControlPlane.Server.Cluster.Tests.Regions;

/// <summary>Runs the region tests alone (after the parallel collections): each starts four node processes and two Redis servers.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class RegionsCollection
{
    public const string Name = "regions";
}

/// <summary>The two-region harness itself, with federation off: two regional clusters that share nothing (a breaker
/// forced in one is not seen by the other), and the link proxies carry the peer's gRPC until cut.</summary>
[Collection(RegionsCollection.Name)]
public sealed class TwoRegionHarnessTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Two_isolated_regional_clusters_and_a_link_proxy_that_carries_grpc_until_cut()
    {
        await using var regions = await TwoRegionFixture.StartAsync(output, federation: false);
        var us = regions.UsEast.Nodes;
        var eu = regions.EuWest.Nodes;

        // Each region is its own cluster on its own Redis: a breaker forced in us-east is obeyed by both us-east
        // nodes and by neither eu-west node.
        var (status, body) = await regions.SetBreakerAsync(us[0], RegionFleets.UsEndpoint, "open", "harness isolation");
        Assert.True(status == System.Net.HttpStatusCode.OK, $"{status}: {body}");
        await regions.WaitUntilRegionRoutesAsync(regions.UsEast, RegionFleets.UsClass, d => !TwoRegionFixture.Lists(d, RegionFleets.UsEndpoint), "us-main forced open is obeyed");
        foreach (var node in eu)
        {
            var decision = await regions.RouteAsync(node, RegionFleets.UsClass);
            Assert.Equal(RegionFleets.UsEndpoint, decision.EndpointId);
            Assert.Equal("closed", TwoRegionFixture.BreakerState((await regions.TryGetEndpointAsync(node, RegionFleets.UsEndpoint))!.Value));
        }

        // The proxy in front of eu-west carries gRPC (h2c) to eu-west's nodes, as a us-east node's federation channel
        // would, and stops carrying it when cut.
        using var channel = GrpcChannel.ForAddress(regions.EuWest.Inbound.HttpUri, new GrpcChannelOptions
        {
            HttpHandler = TestCredentials.Handler(),
            InitialReconnectBackoff = TimeSpan.FromMilliseconds(100),
            MaxReconnectBackoff = TimeSpan.FromMilliseconds(500),
        });
        var throughLink = new Contracts.V1.Routing.RoutingClient(channel);
        var request = new Contracts.V1.RouteRequest { WorkloadClass = RegionFleets.UsClass, RequestId = "link", EstimatedInputTokens = 10, MaxOutputTokens = 10 };
        Assert.Equal(RegionFleets.UsEndpoint, (await throughLink.RouteAsync(request, deadline: DateTime.UtcNow.AddSeconds(10))).EndpointId);
        var carried = regions.EuWest.Inbound.BytesToTarget;
        Assert.True(carried > 0);

        regions.CutLink(CutMode.Refuse);
        var cut = await Assert.ThrowsAsync<RpcException>(() => throughLink.RouteAsync(request, deadline: DateTime.UtcNow.AddSeconds(5)).ResponseAsync);
        Assert.Equal(StatusCode.Unavailable, cut.StatusCode);
        Assert.Equal(carried, regions.EuWest.Inbound.BytesToTarget);

        regions.RestoreLink();
        await regions.WaitUntilAsync("a Route call through the restored link", TimeSpan.FromSeconds(30), async () =>
        {
            try
            {
                return (await throughLink.RouteAsync(request, deadline: DateTime.UtcNow.AddSeconds(5))).EndpointId == RegionFleets.UsEndpoint;
            }
            catch (RpcException)
            {
                return false;
            }
        });
        Assert.True(regions.EuWest.Inbound.BytesToTarget > carried);
    }
}
