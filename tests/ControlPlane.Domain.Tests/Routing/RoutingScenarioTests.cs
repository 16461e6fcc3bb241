using ControlPlane.Domain.Endpoints;
using ControlPlane.Domain.Policy;
using ControlPlane.Domain.Quotas;
using ControlPlane.Domain.Routing;

namespace ControlPlane.Domain.Tests.Routing;

/// <summary>End-to-end stories: a catalog, health views as the breakers publish them, policies, decisions.</summary>
public sealed class RoutingScenarioTests
{
    private static readonly WorkloadClassPolicy SupportChat = new()
    {
        Name = "support-chat",
        Primary = ["openai-gpt4o-us"],
        Fallbacks =
        [
            new FallbackApproval { EndpointId = "anthropic-sonnet-us", EvalScore = 0.94 },
            new FallbackApproval { EndpointId = "azure-gpt4o-us", EvalScore = 0.97 },
        ],
        Prohibited = ["selfhosted-llama-eu"],
        RequiredCapabilities = Capabilities.Tools,
        QualityGate = 0.9,
        Priority = WorkloadPriority.Interactive,
    };

    private static readonly WorkloadClassPolicy LegalDrafting = new()
    {
        Name = "legal-drafting",
        Mode = RoutingMode.QueueOnly,
        Primary = ["openai-gpt4o-us"],
        Prohibited = ["selfhosted-llama-eu", "anthropic-sonnet-us"],
    };

    private static (Fleet Fleet, RoutingSnapshot Snapshot) Catalog(EndpointHealthView primary)
    {
        var fleet = new Fleet()
            .Add("openai-gpt4o-us", primary)
            .Add("anthropic-sonnet-us")
            .Add("azure-gpt4o-us")
            .Add("selfhosted-llama-eu");
        return (fleet, fleet.Snapshot(SupportChat, LegalDrafting));
    }

    [Fact]
    public void Primary_breaker_open_goes_to_the_approved_fallback()
    {
        var (fleet, snapshot) = Catalog(new EndpointHealthView { State = BreakerState.Open, Reason = BreakerReason.ErrorRate });

        var (chosen, decision, chain) = fleet.Router().Route(snapshot, "support-chat", caps: Capabilities.Tools);

        Assert.Equal("anthropic-sonnet-us", chosen);
        Assert.Equal("primary_breaker_open", decision.Reason.ToWireName());
        Assert.Equal(["azure-gpt4o-us"], chain);
        Assert.DoesNotContain("selfhosted-llama-eu", chain);
    }

    [Fact]
    public void A_queue_only_class_never_falls_back()
    {
        var (fleet, snapshot) = Catalog(new EndpointHealthView { State = BreakerState.Open, Reason = BreakerReason.ErrorRate });
        var router = fleet.Router();

        var held = router.Route(snapshot, "legal-drafting");
        Assert.Null(held.Chosen);
        Assert.Equal("queue_only_hold", held.Decision.Reason.ToWireName());
        Assert.Empty(held.Chain);

        // A retry after an error on the primary is held too, not sent elsewhere.
        snapshot.SetHealth(snapshot.Index("openai-gpt4o-us"), EndpointHealthView.Healthy);
        var retry = router.Route(snapshot, "legal-drafting", attempt: 1, exclude: ["openai-gpt4o-us"]);
        Assert.Equal(RouteReason.QueueOnlyHold, retry.Decision.Reason);

        // Once the primary is back, the class routes there again.
        var back = router.Route(snapshot, "legal-drafting");
        Assert.Equal("openai-gpt4o-us", back.Chosen);
        Assert.Equal(RouteReason.Primary, back.Decision.Reason);
    }

    [Fact]
    public void Rate_limited_primary_falls_back_with_primary_rate_limited()
    {
        var (fleet, snapshot) = Catalog(EndpointHealthView.Healthy);
        snapshot.SetHealth(snapshot.Index("openai-gpt4o-us"), EndpointHealthView.Healthy with { RateLimitedUntil = fleet.Now.AddSeconds(12) });

        var (chosen, decision, _) = fleet.Router().Route(snapshot, "support-chat");

        Assert.Equal("anthropic-sonnet-us", chosen);
        Assert.Equal("primary_rate_limited", decision.Reason.ToWireName());
    }

    [Fact]
    public void Attempt_after_an_error_with_the_failed_endpoint_excluded_is_fallback_after_error()
    {
        var (fleet, snapshot) = Catalog(EndpointHealthView.Healthy);
        var router = fleet.Router();

        var first = router.Route(snapshot, "support-chat");
        Assert.Equal("openai-gpt4o-us", first.Chosen);

        var second = router.Route(snapshot, "support-chat", attempt: 1, exclude: ["openai-gpt4o-us"]);
        Assert.Equal("anthropic-sonnet-us", second.Chosen);
        Assert.Equal("fallback_after_error", second.Decision.Reason.ToWireName());

        var third = router.Route(snapshot, "support-chat", attempt: 2, exclude: ["openai-gpt4o-us", "anthropic-sonnet-us"]);
        Assert.Equal("azure-gpt4o-us", third.Chosen);
        Assert.Equal(RouteReason.FallbackAfterError, third.Decision.Reason);
        Assert.Empty(third.Chain);
    }

    [Fact]
    public void A_breaker_push_reroutes_the_next_decision_and_recovery_comes_back_through_probes()
    {
        var (fleet, snapshot) = Catalog(EndpointHealthView.Healthy);
        var router = fleet.Router();
        int primary = snapshot.Index("openai-gpt4o-us");

        snapshot.SetHealth(primary, new EndpointHealthView { State = BreakerState.Open, Reason = BreakerReason.Latency });
        Assert.Equal(RouteReason.PrimaryDegradedLatency, router.Route(snapshot, "support-chat").Decision.Reason);

        snapshot.SetHealth(primary, new EndpointHealthView { State = BreakerState.HalfOpen, Reason = BreakerReason.Latency });
        snapshot.SetProbeSlots(primary, 2);
        Assert.Equal(RouteReason.HalfOpenProbe, router.Route(snapshot, "support-chat").Decision.Reason);
        Assert.Equal(RouteReason.HalfOpenProbe, router.Route(snapshot, "support-chat").Decision.Reason);
        Assert.Equal("anthropic-sonnet-us", router.Route(snapshot, "support-chat").Chosen);

        snapshot.SetHealth(primary, EndpointHealthView.Healthy);
        Assert.Equal("openai-gpt4o-us", router.Route(snapshot, "support-chat").Chosen);
    }

    [Fact]
    public void The_decision_maps_onto_the_wire_route_decision()
    {
        var (fleet, snapshot) = Catalog(EndpointHealthView.Healthy);
        snapshot.SetLoad(snapshot.Index("openai-gpt4o-us"), new EndpointLoad { P95LatencyMs = 800, PerOutputTokenMs = 15 });

        var (_, decision, chain) = fleet.Router().Route(snapshot, "support-chat", input: 2_000, maxOutput: 1_000);
        var endpoint = snapshot.EndpointAt(decision.EndpointIndex);

        Assert.Equal(("openai-gpt4o-us", "openai", "openai-gpt4o-us", "2026-01-01", "us-east"), (endpoint.Id, endpoint.Provider, endpoint.Model, endpoint.ModelVersion, endpoint.Region));
        Assert.Equal("primary", decision.Reason.ToWireName());
        Assert.Equal(23_700, (long)decision.Timeout.TotalMilliseconds); // 1.5 * (800 + 15 * 1,000)
        Assert.Equal(["anthropic-sonnet-us", "azure-gpt4o-us"], chain);
        Assert.Equal((2_000L, 1_000L, 1L), (decision.Reservation.InputTokens, decision.Reservation.OutputTokens, decision.Reservation.Requests));
    }
}
