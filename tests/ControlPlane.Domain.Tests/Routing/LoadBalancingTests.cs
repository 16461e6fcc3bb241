using ControlPlane.Domain.Endpoints;
using ControlPlane.Domain.Policy;
using ControlPlane.Domain.Routing;

namespace ControlPlane.Domain.Tests.Routing;

/// <summary>Weighted power-of-two-choices among equally eligible primaries, with a seeded random source.</summary>
public sealed class LoadBalancingTests
{
    private const int Trials = 4_000;

    private static Dictionary<string, int> Count(Fleet fleet, RoutingSnapshot snapshot, int seed = 11)
    {
        var router = fleet.Router(seed);
        var counts = new Dictionary<string, int>();
        for (int i = 0; i < Trials; i++)
        {
            string chosen = router.Route(snapshot, "pool").Chosen!;
            counts[chosen] = counts.GetValueOrDefault(chosen) + 1;
        }

        return counts;
    }

    private static RoutingSnapshot Pool(Fleet fleet, params string[] ids)
    {
        foreach (string id in ids)
        {
            fleet.Add(id);
        }

        return fleet.Snapshot(new WorkloadClassPolicy { Name = "pool", Primary = ids });
    }

    [Fact]
    public void Of_two_endpoints_the_less_loaded_always_wins()
    {
        var fleet = new Fleet();
        var snapshot = Pool(fleet, "p-a", "p-b");
        snapshot.SetLoad(0, new EndpointLoad { LatencyEwmaMs = 300, InFlight = 12 });
        snapshot.SetLoad(1, new EndpointLoad { LatencyEwmaMs = 300, InFlight = 2 });

        var counts = Count(fleet, snapshot);

        Assert.Equal(Trials, counts["p-b"]);
    }

    [Fact]
    public void Latency_in_flight_and_errors_all_count_as_load()
    {
        var fleet = new Fleet();
        var snapshot = Pool(fleet, "p-a", "p-b");
        var router = fleet.Router();

        snapshot.SetLoad(0, new EndpointLoad { LatencyEwmaMs = 900 });
        snapshot.SetLoad(1, new EndpointLoad { LatencyEwmaMs = 300 });
        Assert.Equal("p-b", router.Route(snapshot, "pool").Chosen);

        snapshot.SetLoad(0, new EndpointLoad { LatencyEwmaMs = 300, ErrorRate = 0 });
        snapshot.SetLoad(1, new EndpointLoad { LatencyEwmaMs = 300, ErrorRate = 0.5 });
        Assert.Equal("p-a", router.Route(snapshot, "pool").Chosen);
    }

    [Fact]
    public void Of_four_the_least_loaded_wins_about_half_and_the_most_loaded_never()
    {
        var fleet = new Fleet();
        var snapshot = Pool(fleet, "p-a", "p-b", "p-c", "p-d");
        for (int i = 0; i < 4; i++)
        {
            snapshot.SetLoad(i, new EndpointLoad { LatencyEwmaMs = 200, InFlight = (i + 1) * 5 });
        }

        var counts = Count(fleet, snapshot);

        // The least loaded wins whenever it is one of the two sampled: 1 - (3/4 * 2/3) = 1/2 of the time.
        Assert.InRange(counts["p-a"], Trials * 0.45, Trials * 0.55);
        Assert.False(counts.ContainsKey("p-d"));
        Assert.True(counts["p-a"] > counts["p-b"] && counts["p-b"] > counts["p-c"]);
    }

    [Fact]
    public void A_degraded_endpoint_gets_less_traffic_at_equal_load()
    {
        var fleet = new Fleet();
        fleet.Add("p-a", EndpointHealthView.Healthy with { Degraded = true }).Add("p-b").Add("p-c");
        var snapshot = fleet.Snapshot(new WorkloadClassPolicy { Name = "pool", Primary = ["p-a", "p-b", "p-c"] });

        var counts = Count(fleet, snapshot);

        Assert.True(counts["p-a"] < counts["p-b"] / 2, $"degraded got {counts["p-a"]} vs {counts["p-b"]}");
    }

    [Fact]
    public void An_endpoint_ramping_back_gets_traffic_in_proportion_to_its_fraction()
    {
        var fleet = new Fleet();
        fleet.Add("p-a", EndpointHealthView.Healthy with { TrafficFraction = 0.1 }).Add("p-b").Add("p-c");
        var snapshot = fleet.Snapshot(new WorkloadClassPolicy { Name = "pool", Primary = ["p-a", "p-b", "p-c"] });

        var counts = Count(fleet, snapshot);

        Assert.InRange(counts.GetValueOrDefault("p-a"), 1, Trials / 10);
    }

    [Fact]
    public void An_endpoint_at_zero_fraction_gets_nothing_while_others_can_serve()
    {
        var fleet = new Fleet();
        fleet.Add("p-a", EndpointHealthView.Healthy with { TrafficFraction = 0 }).Add("p-b");
        var snapshot = fleet.Snapshot(new WorkloadClassPolicy { Name = "pool", Primary = ["p-a", "p-b"] });
        snapshot.SetLoad(1, new EndpointLoad { InFlight = 100 });

        Assert.Equal(Trials, Count(fleet, snapshot)["p-b"]);
    }

    [Fact]
    public void The_same_seed_gives_the_same_decisions()
    {
        var fleet = new Fleet();
        var snapshot = Pool(fleet, "p-a", "p-b", "p-c", "p-d", "p-e");

        Assert.Equal(Count(fleet, snapshot, seed: 3), Count(fleet, snapshot, seed: 3));
    }
}
