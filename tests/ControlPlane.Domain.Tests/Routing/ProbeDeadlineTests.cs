using ControlPlane.Domain.Endpoints;
using ControlPlane.Domain.Policy;
using ControlPlane.Domain.Routing;

namespace ControlPlane.Domain.Tests.Routing;

/// <summary>A half-open probe goes only to a call with time for the endpoint's p95 answer: a call held by a queue_only
/// class until little of its Route deadline was left would time out and re-open the breaker for its own deadline.</summary>
public sealed class ProbeDeadlineTests
{
    private static readonly EndpointLoad Answers = new() { P50LatencyMs = 600, P95LatencyMs = 900, P95RequestLatencyMs = 1_500 };

    [Fact]
    public void A_call_with_less_time_than_the_p95_answer_leaves_the_probe_slot_to_one_with_enough()
    {
        var fleet = new Fleet().Add("openai-gpt41-us", Fleet.HalfOpen(BreakerReason.Quality)).Add("other");
        var snapshot = fleet.Snapshot(new WorkloadClassPolicy { Name = "agent", Mode = RoutingMode.QueueOnly, Primary = ["openai-gpt41-us"] });
        var primary = snapshot.Index("openai-gpt41-us");
        snapshot.SetLoad(primary, Answers);
        snapshot.SetProbeSlots(primary, 1);
        var router = fleet.Router();

        // A held call re-routed with 400 ms of its Route deadline left: no probe for it, the slot stays.
        var held = router.Route(snapshot, "agent", deadline: TimeSpan.FromMilliseconds(400)).Decision;
        Assert.False(held.IsProbe);
        Assert.NotEqual(RouteReason.HalfOpenProbe, held.Reason);
        Assert.Equal(1, snapshot.ProbeSlotsAt(primary));

        // A fresh call (1.9 s left) takes it; so does a call without a deadline.
        var fresh = router.Route(snapshot, "agent", deadline: TimeSpan.FromMilliseconds(1_900));
        Assert.Equal(("openai-gpt41-us", RouteReason.HalfOpenProbe), (fresh.Chosen, fresh.Decision.Reason));
        Assert.Equal(0, snapshot.ProbeSlotsAt(primary));
        snapshot.SetProbeSlots(primary, 1);
        Assert.True(router.Route(snapshot, "agent").Decision.IsProbe);

        // Without latency figures the deadline is not judged.
        snapshot.SetLoad(primary, default);
        snapshot.SetProbeSlots(primary, 1);
        Assert.True(router.Route(snapshot, "agent", deadline: TimeSpan.FromMilliseconds(400)).Decision.IsProbe);
    }
}
