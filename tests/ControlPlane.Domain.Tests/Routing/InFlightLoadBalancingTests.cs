using ControlPlane.Domain.Policy;
using ControlPlane.Domain.Routing;

namespace ControlPlane.Domain.Tests.Routing;

/// <summary>The node's live in-flight counts (<see cref="RoutingSnapshot.AddInFlight"/>) in power-of-two-choices: the
/// classic semantics (the less loaded always wins) hold for them, and between two primaries the faster one no longer
/// takes everything once it has requests in flight.</summary>
public sealed class InFlightLoadBalancingTests
{
    private const int Trials = 2_000;

    private static RoutingSnapshot Pool(Fleet fleet, params string[] ids)
    {
        foreach (string id in ids)
        {
            fleet.Add(id);
        }

        return fleet.Snapshot(new WorkloadClassPolicy { Name = "pool", Primary = ids });
    }

    [Fact]
    public void Of_two_equally_fast_endpoints_the_one_with_fewer_requests_in_flight_always_wins()
    {
        var fleet = new Fleet();
        var snapshot = Pool(fleet, "p-a", "p-b");
        snapshot.SetLoad(0, new EndpointLoad { LatencyEwmaMs = 300 });
        snapshot.SetLoad(1, new EndpointLoad { LatencyEwmaMs = 300 });
        for (int i = 0; i < 5; i++)
        {
            snapshot.AddInFlight(0);
        }

        snapshot.AddInFlight(1);
        var router = fleet.Router(seed: 5);

        for (int i = 0; i < Trials; i++)
        {
            Assert.Equal("p-b", router.Route(snapshot, "pool").Chosen);
        }
    }

    [Fact]
    public void The_live_count_adds_to_the_published_figure()
    {
        var fleet = new Fleet();
        var snapshot = Pool(fleet, "p-a", "p-b");
        snapshot.SetLoad(0, new EndpointLoad { LatencyEwmaMs = 300, InFlight = 3 });
        snapshot.SetLoad(1, new EndpointLoad { LatencyEwmaMs = 300 });
        snapshot.AddInFlight(1);
        snapshot.AddInFlight(1);
        var router = fleet.Router(seed: 5);
        Assert.Equal("p-b", router.Route(snapshot, "pool").Chosen);

        // Two more on p-b: 4 against 3, so p-a now.
        snapshot.AddInFlight(1);
        snapshot.AddInFlight(1);
        Assert.Equal("p-a", router.Route(snapshot, "pool").Chosen);
    }

    [Fact]
    public void A_slower_endpoint_gets_a_share_once_the_faster_one_has_requests_in_flight()
    {
        // Requests that stay in flight (none answered yet): without the count, the faster endpoint takes all of them.
        var fleet = new Fleet();
        var snapshot = Pool(fleet, "p-a", "p-b");
        snapshot.SetLoad(0, new EndpointLoad { LatencyEwmaMs = 100 });
        snapshot.SetLoad(1, new EndpointLoad { LatencyEwmaMs = 150 });
        var router = fleet.Router(seed: 5);
        var counts = new int[2];
        for (int i = 0; i < 300; i++)
        {
            var (_, decision, _) = router.Route(snapshot, "pool");
            counts[decision.EndpointIndex]++;
            snapshot.AddInFlight(decision.EndpointIndex);
        }

        // Least loaded by latency × (1 + in flight): about 3 to 2.
        Assert.InRange(counts[1], 100, 140);
        Assert.True(counts[0] > counts[1], $"{counts[0]} vs {counts[1]}");
        Assert.Equal((counts[0], counts[1]), (snapshot.InFlightAt(0), snapshot.InFlightAt(1)));

        // Answers come back (released): with nothing in flight the faster one wins again.
        for (int i = 0; i < 300; i++)
        {
            snapshot.ReleaseInFlight(0);
            snapshot.ReleaseInFlight(1);
        }

        Assert.Equal((0, 0), (snapshot.InFlightAt(0), snapshot.InFlightAt(1)));
        Assert.Equal("p-a", router.Route(snapshot, "pool").Chosen);
    }

    [Fact]
    public void A_rebuilt_snapshot_shares_the_counts_of_the_one_it_replaces()
    {
        var fleet = new Fleet();
        var old = Pool(fleet, "p-a", "p-b");
        old.AddInFlight(1);
        old.AddInFlight(1);
        var rebuilt = fleet.Snapshot(new WorkloadClassPolicy { Name = "pool", Primary = ["p-b", "p-a"] });
        Assert.Equal(0, rebuilt.InFlightAt(1));

        rebuilt.CarryInFlightFrom(old);

        Assert.Equal(2, rebuilt.InFlightAt(1));
        // A decision still routing on the old snapshot and its outcome after the swap meet on one count.
        old.AddInFlight(0);
        Assert.Equal(1, rebuilt.InFlightAt(0));
        rebuilt.ReleaseInFlight(0);
        Assert.Equal(0, old.InFlightAt(0));
    }

    [Fact]
    public void A_release_never_takes_the_count_below_zero()
    {
        var fleet = new Fleet();
        var snapshot = Pool(fleet, "p-a", "p-b");
        snapshot.ReleaseInFlight(0);
        snapshot.AddInFlight(0);

        Assert.Equal(1, snapshot.InFlightAt(0));
    }
}
