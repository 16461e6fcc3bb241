using System.Net;
using ControlPlane.Testing.Regions;
using Xunit.Abstractions;
using static ControlPlane.Testing.Regions.RegionFleets;

namespace ControlPlane.Server.Cluster.Tests.Regions;

/// <summary>A region whose redis-server restarts empty (its nodes keep running: the incarnation watchdog makes them
/// rejoin a new cluster in-process, docs/cluster-incarnation.md) rebuilds the state of the endpoints homed elsewhere from
/// their home region, rather than starting them afresh.</summary>
[Collection(RegionsCollection.Name)]
public sealed class RegionRebuildTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_region_whose_redis_restarted_empty_rebuilds_the_remote_endpoints_state_from_their_home()
    {
        await using var regions = await TwoRegionFixture.StartAsync(output, federation: true);
        var us = regions.UsEast.Nodes;
        var eu = regions.EuWest.Nodes;

        var (status, body) = await regions.SetBreakerAsync(us[0], UsEndpoint, "open", "rebuild: forced at home before eu-west's reset");
        Assert.True(status == HttpStatusCode.OK, $"{status}: {body}");
        await regions.WaitUntilRegionRoutesAsync(regions.EuWest, UsClass, d => !TwoRegionFixture.Lists(d, UsEndpoint), "us-main forced open is obeyed in eu-west");
        var viewBefore = await regions.TryGetEndpointAsync(eu[0], UsEndpoint);
        regions.Print($"eu-west's view of us-main before the reset: {viewBefore}");

        var restartedAt = regions.Elapsed;
        await regions.RestartRedisEmptyAsync(TwoRegionCluster.EuWest);

        // Both eu-west nodes notice the lost incarnation and rejoin the new (empty) cluster in-process.
        foreach (var node in eu)
        {
            Assert.True(await node.Process.WaitForClusterLinesAsync(2, TimeSpan.FromSeconds(120)), $"{node} did not rejoin.\n{regions.Cluster.Logs()}");
            regions.Print($"MEASURED {node} rejoined by +{(regions.Elapsed - restartedAt).TotalSeconds:F1} s");
        }

        // Everything eu-west's grains held is gone from its Redis; us-main's forced state comes back from us-east.
        var took = await regions.WaitUntilRegionRoutesAsync(regions.EuWest, UsClass, d => !TwoRegionFixture.Lists(d, UsEndpoint), "us-main's forced state rebuilt in eu-west");
        regions.Print($"MEASURED eu-west obeys us-main's home state again +{(regions.Elapsed - restartedAt).TotalSeconds:F1} s after the reset ({took.TotalSeconds:F1} s after the rejoin)");
        var view = await regions.TryGetEndpointAsync(eu[1], UsEndpoint);
        regions.Print($"eu-west's view of us-main after the rebuild: {view}");
        Assert.NotNull(view);
        Assert.Equal("open", TwoRegionFixture.BreakerState(view!.Value));
        // It stays so (not a snapshot that survived the rejoin and is then overwritten by a fresh grain).
        for (var i = 0; i < 10; i++)
        {
            foreach (var node in eu)
            {
                Assert.False(TwoRegionFixture.Lists(await regions.RouteAsync(node, UsClass), UsEndpoint), $"{node} lists us-main again");
            }

            await Task.Delay(300);
        }

        // The rebuilt region still follows its peer: clearing at home is obeyed in eu-west.
        (status, body) = await regions.SetBreakerAsync(us[1], UsEndpoint, "auto", "rebuild: cleared at home after the reset");
        Assert.True(status == HttpStatusCode.OK, $"{status}: {body}");
        await regions.WaitUntilRegionRoutesAsync(regions.EuWest, UsClass, d => d.EndpointId == UsEndpoint, "us-main cleared at home is chosen again in eu-west");
    }
}
