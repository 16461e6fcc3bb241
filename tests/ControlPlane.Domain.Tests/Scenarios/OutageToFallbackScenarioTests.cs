using ControlPlane.Domain.Endpoints;
using ControlPlane.Domain.Health;
using ControlPlane.Domain.Policy;
using ControlPlane.Domain.Routing;
using ControlPlane.Domain.Tests.Routing;

namespace ControlPlane.Domain.Tests.Scenarios;

/// <summary>The whole domain loop, as an endpoint grain and a node run it: outcomes feed the primary's
/// health, its published view goes into the routing snapshot, and decisions follow.</summary>
public sealed class OutageToFallbackScenarioTests
{
    private const string PrimaryId = "openai-gpt4o-us";
    private const string FallbackId = "anthropic-sonnet-us";

    private static readonly WorkloadClassPolicy CustomerChat = new()
    {
        Name = "customer_chat",
        Primary = [PrimaryId],
        Fallbacks = [new FallbackApproval { EndpointId = FallbackId, EvalScore = 0.94 }],
        Prohibited = ["selfhosted-llama-eu"],
    };

    private static readonly WorkloadClassPolicy LegalDraft = new()
    {
        Name = "legal_draft",
        Mode = RoutingMode.QueueOnly,
        Primary = [PrimaryId],
    };

    [Fact]
    public void An_outage_opens_within_5_failures_moves_traffic_to_the_fallback_and_recovery_ramps_it_back()
    {
        var stream = new OutcomeStream();
        stream.WarmUp();
        var fleet = new Fleet().Add(PrimaryId, stream.View).Add(FallbackId).Add("selfhosted-llama-eu");
        var snapshot = fleet.Snapshot(CustomerChat, LegalDraft);
        var router = fleet.Router(seed: 11);
        var primary = snapshot.Index(PrimaryId);

        Assert.Equal((PrimaryId, "primary"), Decide(router, snapshot, "customer_chat"));

        // Hard outage: every answer is a 5xx.
        var failures = 0;
        while (stream.View.State != BreakerState.Open)
        {
            stream.Health.Record(new OutcomeSample { At = stream.Now, Status = OutcomeStatus.ServerError, Latency = TimeSpan.FromMilliseconds(80) });
            stream.Advance(TimeSpan.FromMilliseconds(100));
            failures++;
        }

        Assert.InRange(failures, 1, 5);
        snapshot.SetHealth(primary, stream.View);
        Assert.Equal((FallbackId, "primary_breaker_open"), Decide(router, snapshot, "customer_chat"));
        Assert.Equal((null, "queue_only_hold"), Decide(router, snapshot, "legal_draft"));

        // Cooldown over: half-open probes succeed and the breaker closes at the start of its ramp.
        stream.Advance(TimeSpan.FromSeconds(61));
        while (stream.View.State == BreakerState.HalfOpen && stream.Health.TryAcquireProbe())
        {
            stream.Health.Record(stream.Healthy(stream.Now));
            stream.Advance(TimeSpan.FromMilliseconds(500));
        }

        Assert.Equal(BreakerState.Closed, stream.View.State);

        // The primary's share of 2,000 decisions follows the ramp: small at first, growing, then everything.
        var shares = new List<double>();
        while (true)
        {
            var view = stream.View;
            snapshot.SetHealth(primary, view);
            var toPrimary = 0;
            for (var i = 0; i < 2_000; i++)
            {
                var (chosen, reason) = Decide(router, snapshot, "customer_chat");
                if (chosen == PrimaryId)
                {
                    toPrimary++;
                }
                else
                {
                    Assert.Equal((FallbackId, "primary_recovering"), (chosen, reason));
                }
            }

            shares.Add(toPrimary / 2_000.0);
            if (view.TrafficFraction >= 1)
            {
                break;
            }

            Assert.InRange(toPrimary / 2_000.0, view.TrafficFraction - 0.05, view.TrafficFraction + 0.05);
            stream.Run(TimeSpan.FromSeconds(20), 10, t => stream.Healthy(t));
        }

        Assert.True(shares.Count >= 4, $"ramp sampled {shares.Count} times");
        Assert.InRange(shares[0], 0.05, 0.2);
        Assert.Equal(1.0, shares[^1]);
        Assert.All(shares.Zip(shares.Skip(1)), p => Assert.True(p.Second > p.First - 0.05, $"{p.Second} after {p.First}"));
    }

    [Fact]
    public void A_queue_only_class_takes_a_recovering_primary_at_full_share_rather_than_holding()
    {
        var fleet = new Fleet()
            .Add(PrimaryId, new EndpointHealthView { State = BreakerState.Closed, TrafficFraction = 0.1 })
            .Add(FallbackId);
        var snapshot = fleet.Snapshot(CustomerChat, LegalDraft);
        var router = fleet.Router(seed: 3);

        for (var i = 0; i < 200; i++)
        {
            Assert.Equal((PrimaryId, "primary"), Decide(router, snapshot, "legal_draft"));
        }
    }

    private static (string? Chosen, string Reason) Decide(Router router, RoutingSnapshot snapshot, string className)
    {
        var (chosen, decision, _) = router.Route(snapshot, className);
        return (chosen, decision.Reason.ToWireName());
    }
}
