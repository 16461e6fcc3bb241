using ControlPlane.Domain.Endpoints;
using ControlPlane.Domain.Policy;
using ControlPlane.Domain.Quotas;
using ControlPlane.Domain.Routing;

namespace ControlPlane.Domain.Tests.Routing;

public sealed class RouterTests
{
    private static WorkloadClassPolicy Chat(RoutingMode mode = RoutingMode.AutoFallback) => new()
    {
        Name = "chat",
        Mode = mode,
        Primary = ["openai-a"],
        Fallbacks = mode == RoutingMode.AutoFallback
            ? [new FallbackApproval { EndpointId = "azure-b" }, new FallbackApproval { EndpointId = "anthropic-c" }]
            : [],
        Prohibited = ["local-x"],
    };

    private static Fleet Fleet(EndpointHealthView? primary = null, EndpointHealthView? firstFallback = null) => new Fleet()
        .Add("openai-a", primary)
        .Add("azure-b", firstFallback)
        .Add("anthropic-c")
        .Add("local-x");

    [Fact]
    public void A_healthy_primary_is_chosen_with_the_fallbacks_in_approved_order()
    {
        var fleet = Fleet();
        var snapshot = fleet.Snapshot(Chat());

        var (chosen, decision, chain) = fleet.Router().Route(snapshot, "chat");

        Assert.Equal("openai-a", chosen);
        Assert.Equal(RouteReason.Primary, decision.Reason);
        Assert.Equal(["azure-b", "anthropic-c"], chain);
        Assert.Equal(new TokenReservation(1_000, 500, 1), decision.Reservation);
        Assert.False(decision.IsProbe);
    }

    [Theory]
    [InlineData(BreakerReason.ErrorRate, RouteReason.PrimaryBreakerOpen)]
    [InlineData(BreakerReason.ConsecutiveFailures, RouteReason.PrimaryBreakerOpen)]
    [InlineData(BreakerReason.ProbeFailed, RouteReason.PrimaryBreakerOpen)]
    [InlineData(BreakerReason.Latency, RouteReason.PrimaryDegradedLatency)]
    [InlineData(BreakerReason.Quality, RouteReason.PrimaryQuality)]
    [InlineData(BreakerReason.Forced, RouteReason.ForcedOverride)]
    public void An_open_primary_falls_back_with_the_reason_of_its_breaker(BreakerReason breaker, RouteReason expected)
    {
        var fleet = Fleet(Fleet_Open(breaker));
        var snapshot = fleet.Snapshot(Chat());

        var (chosen, decision, chain) = fleet.Router().Route(snapshot, "chat");

        Assert.Equal("azure-b", chosen);
        Assert.Equal(expected, decision.Reason);
        Assert.Equal(["anthropic-c"], chain);
    }

    private static EndpointHealthView Fleet_Open(BreakerReason reason) => Routing.Fleet.Open(reason);

    [Fact]
    public void A_primary_cooling_after_429s_falls_back_until_the_cooldown_ends()
    {
        var fleet = new Fleet();
        fleet.Add("openai-a", EndpointHealthView.Healthy with { RateLimitedUntil = fleet.Now.AddSeconds(20) }).Add("azure-b").Add("anthropic-c").Add("local-x");
        var snapshot = fleet.Snapshot(Chat());
        var router = fleet.Router();

        var (chosen, decision, _) = router.Route(snapshot, "chat");
        Assert.Equal("azure-b", chosen);
        Assert.Equal(RouteReason.PrimaryRateLimited, decision.Reason);

        fleet.Time.Advance(TimeSpan.FromSeconds(20));
        (chosen, decision, _) = router.Route(snapshot, "chat");
        Assert.Equal("openai-a", chosen);
        Assert.Equal(RouteReason.Primary, decision.Reason);
    }

    [Fact]
    public void A_primary_whose_lease_cannot_pay_counts_as_rate_limited()
    {
        var fleet = Fleet();
        var snapshot = fleet.Snapshot(Chat());
        var options = new LeaseOptions();
        var ledger = new QuotaLeaseLedger(new RateQuota(QuotaLimits.PerMinute(100_000, 1_000), fleet.Time), options, fleet.Time);
        Assert.True(ledger.TryGrant("node-a", 1_200, 10, out var lease));
        var wallet = new LeaseWallet(options, fleet.Time);
        wallet.Accept(lease);
        var quota = new NodeQuotaTable(snapshot.EndpointCount, snapshot.ClassCount);
        quota.SetEndpointWallet(snapshot.Index("openai-a"), wallet);
        var router = fleet.Router(quota: quota);

        Assert.Equal("openai-a", router.Route(snapshot, "chat", input: 700, maxOutput: 500).Chosen);

        var (chosen, decision, _) = router.Route(snapshot, "chat", input: 701, maxOutput: 500);
        Assert.Equal("azure-b", chosen);
        Assert.Equal(RouteReason.PrimaryRateLimited, decision.Reason);
    }

    [Fact]
    public void A_retry_that_excludes_the_failed_primary_is_fallback_after_error()
    {
        var fleet = Fleet();
        var snapshot = fleet.Snapshot(Chat());

        var (chosen, decision, chain) = fleet.Router().Route(snapshot, "chat", attempt: 1, exclude: ["openai-a"]);

        Assert.Equal("azure-b", chosen);
        Assert.Equal(RouteReason.FallbackAfterError, decision.Reason);
        Assert.Equal(["anthropic-c"], chain);
    }

    [Fact]
    public void A_retry_that_lands_on_another_primary_is_still_fallback_after_error()
    {
        var fleet = Fleet();
        var snapshot = fleet.Snapshot(Chat() with { Primary = ["openai-a", "azure-b"], Fallbacks = [new FallbackApproval { EndpointId = "anthropic-c" }] });

        var (chosen, decision, _) = fleet.Router().Route(snapshot, "chat", attempt: 1, exclude: ["openai-a"]);

        Assert.Equal("azure-b", chosen);
        Assert.Equal(RouteReason.FallbackAfterError, decision.Reason);
    }

    [Fact]
    public void A_force_open_primary_is_never_chosen_until_the_override_expires()
    {
        var fleet = new Fleet();
        var forced = fleet.Override(OverrideKind.ForceOpen, TimeSpan.FromMinutes(5));
        // The health view reports Closed once the override lapses; the router honours the expiry itself.
        fleet.Add("openai-a", EndpointHealthView.Healthy with { Override = forced }).Add("azure-b").Add("anthropic-c").Add("local-x");
        var snapshot = fleet.Snapshot(Chat());
        var router = fleet.Router();

        var (chosen, decision, chain) = router.Route(snapshot, "chat");
        Assert.Equal("azure-b", chosen);
        Assert.Equal(RouteReason.ForcedOverride, decision.Reason);
        Assert.DoesNotContain("openai-a", chain);

        fleet.Time.Advance(TimeSpan.FromMinutes(5));
        Assert.Equal("openai-a", router.Route(snapshot, "chat").Chosen);
    }

    [Fact]
    public void A_force_closed_endpoint_is_eligible_whatever_its_signals()
    {
        var fleet = new Fleet();
        var view = new EndpointHealthView
        {
            State = BreakerState.Open,
            Reason = BreakerReason.ErrorRate,
            Degraded = true,
            TrafficFraction = 0,
            RateLimitedUntil = fleet.Now.AddMinutes(1),
            Override = fleet.Override(OverrideKind.ForceClosed),
        };
        fleet.Add("openai-a", view).Add("azure-b").Add("anthropic-c").Add("local-x");
        var snapshot = fleet.Snapshot(Chat());

        var (chosen, decision, _) = fleet.Router().Route(snapshot, "chat");

        Assert.Equal("openai-a", chosen);
        Assert.Equal(RouteReason.ForcedOverride, decision.Reason);
    }

    [Fact]
    public void A_drained_primary_falls_back_with_reason_drained()
    {
        var fleet = new Fleet();
        fleet.Add("openai-a", EndpointHealthView.Healthy with { Override = fleet.Override(OverrideKind.Drain) }).Add("azure-b").Add("anthropic-c").Add("local-x");
        var snapshot = fleet.Snapshot(Chat());

        var (chosen, decision, chain) = fleet.Router().Route(snapshot, "chat");

        Assert.Equal("azure-b", chosen);
        Assert.Equal(RouteReason.Drained, decision.Reason);
        Assert.DoesNotContain("openai-a", chain);
    }

    [Fact]
    public void A_queue_only_class_holds_without_an_endpoint()
    {
        var fleet = Fleet(Routing.Fleet.Open(BreakerReason.ErrorRate));
        var snapshot = fleet.Snapshot(Chat(RoutingMode.QueueOnly));

        var (chosen, decision, chain) = fleet.Router().Route(snapshot, "chat");

        Assert.Null(chosen);
        Assert.Equal(RouteReason.QueueOnlyHold, decision.Reason);
        Assert.Equal(-1, decision.EndpointIndex);
        Assert.Empty(chain);
        Assert.Equal(TimeSpan.Zero, decision.Timeout);
    }

    [Fact]
    public void A_fail_class_fails_instead_of_falling_back()
    {
        var fleet = Fleet(Routing.Fleet.Open(BreakerReason.ErrorRate));
        var snapshot = fleet.Snapshot(Chat(RoutingMode.Fail));

        var (chosen, decision, _) = fleet.Router().Route(snapshot, "chat");

        Assert.Null(chosen);
        Assert.Equal(RouteReason.NoCapacity, decision.Reason);
    }

    [Fact]
    public void No_capacity_when_every_approved_endpoint_is_unavailable()
    {
        var open = Routing.Fleet.Open(BreakerReason.ErrorRate);
        var fleet = new Fleet().Add("openai-a", open).Add("azure-b", open).Add("anthropic-c", open).Add("local-x");
        var snapshot = fleet.Snapshot(Chat());

        var (chosen, decision, chain) = fleet.Router().Route(snapshot, "chat");

        Assert.Null(chosen);
        Assert.Equal(RouteReason.NoCapacity, decision.Reason);
        Assert.Empty(chain);
    }

    [Fact]
    public void A_half_open_primary_gets_traffic_only_through_a_probe_slot()
    {
        var fleet = Fleet(Routing.Fleet.HalfOpen(BreakerReason.ErrorRate));
        var snapshot = fleet.Snapshot(Chat());
        var router = fleet.Router();

        var (chosen, decision, _) = router.Route(snapshot, "chat");
        Assert.Equal("azure-b", chosen);
        Assert.Equal(RouteReason.PrimaryBreakerOpen, decision.Reason);

        snapshot.SetProbeSlots(snapshot.Index("openai-a"), 1);
        (chosen, decision, _) = router.Route(snapshot, "chat");
        Assert.Equal("openai-a", chosen);
        Assert.Equal(RouteReason.HalfOpenProbe, decision.Reason);
        Assert.True(decision.IsProbe);
        Assert.Equal(0, snapshot.ProbeSlotsAt(snapshot.Index("openai-a")));

        Assert.Equal("azure-b", router.Route(snapshot, "chat").Chosen);
    }

    [Fact]
    public void A_half_open_primary_without_a_slot_marks_probe_demand_once_until_taken()
    {
        var fleet = Fleet(Routing.Fleet.HalfOpen(BreakerReason.ErrorRate));
        var snapshot = fleet.Snapshot(Chat());
        var router = fleet.Router();
        int primary = snapshot.Index("openai-a");
        Assert.False(snapshot.TakeProbeDemand(primary));

        router.Route(snapshot, "chat");
        router.Route(snapshot, "chat");
        Assert.True(snapshot.TakeProbeDemand(primary));
        Assert.False(snapshot.TakeProbeDemand(primary));

        // With a slot the request probes and wants nothing more; the healthy fallback never wants a probe.
        snapshot.AddProbeSlots(primary, 1);
        Assert.Equal(RouteReason.HalfOpenProbe, router.Route(snapshot, "chat").Decision.Reason);
        Assert.False(snapshot.TakeProbeDemand(primary));
        Assert.False(snapshot.TakeProbeDemand(snapshot.Index("azure-b")));
        snapshot.AddProbeSlots(primary, 2);
        Assert.Equal(2, snapshot.TakeProbeSlots(primary));
        Assert.Equal(0, snapshot.ProbeSlotsAt(primary));
    }

    [Fact]
    public void A_half_open_fallback_wants_a_probe_only_when_the_request_reaches_it()
    {
        var fleet = new Fleet()
            .Add("openai-a")
            .Add("azure-b", Routing.Fleet.HalfOpen(BreakerReason.ErrorRate))
            .Add("anthropic-c");
        var snapshot = fleet.Snapshot(Chat());
        var router = fleet.Router();

        Assert.Equal("openai-a", router.Route(snapshot, "chat").Chosen);
        Assert.False(snapshot.TakeProbeDemand(snapshot.Index("azure-b")));

        snapshot.SetHealth(snapshot.Index("openai-a"), Routing.Fleet.Open(BreakerReason.ErrorRate));
        Assert.Equal("anthropic-c", router.Route(snapshot, "chat").Chosen);
        Assert.True(snapshot.TakeProbeDemand(snapshot.Index("azure-b")));
    }

    [Fact]
    public void A_request_the_primary_cannot_serve_goes_to_a_capable_fallback()
    {
        var fleet = new Fleet()
            .Add("openai-a", caps: Capabilities.Tools)
            .Add("azure-b", caps: Capabilities.Tools | Capabilities.Vision)
            .Add("anthropic-c", contextWindow: 4_000)
            .Add("local-x");
        var snapshot = fleet.Snapshot(Chat());

        var (chosen, decision, chain) = fleet.Router().Route(snapshot, "chat", caps: Capabilities.Vision);
        Assert.Equal("azure-b", chosen);
        Assert.Equal(RouteReason.PrimaryIneligible, decision.Reason);
        Assert.Empty(chain);

        // 3,500 input + 1,000 output does not fit anthropic-c's 4,000-token window.
        (_, _, chain) = fleet.Router().Route(snapshot, "chat", input: 3_500, maxOutput: 1_000);
        Assert.Equal(["azure-b"], chain);
    }

    [Fact]
    public void A_fallback_below_the_quality_gate_is_never_used()
    {
        var fleet = Fleet(Routing.Fleet.Open(BreakerReason.ErrorRate));
        var policy = Chat() with
        {
            QualityGate = 0.9,
            Fallbacks = [new FallbackApproval { EndpointId = "azure-b", EvalScore = 0.85 }, new FallbackApproval { EndpointId = "anthropic-c", EvalScore = 0.95 }],
        };
        var snapshot = fleet.Snapshot(policy);

        var (chosen, decision, chain) = fleet.Router().Route(snapshot, "chat");

        Assert.Equal("anthropic-c", chosen);
        Assert.Equal(RouteReason.PrimaryBreakerOpen, decision.Reason);
        Assert.Empty(chain);
    }

    [Fact]
    public void Below_the_panic_threshold_traffic_spreads_over_every_approved_endpoint_not_open()
    {
        var fleet = new Fleet();
        fleet.Add("openai-a", Routing.Fleet.Open(BreakerReason.ErrorRate))
            .Add("azure-b", EndpointHealthView.Healthy with { RateLimitedUntil = fleet.Now.AddMinutes(1) })
            .Add("anthropic-c", Routing.Fleet.HalfOpen(BreakerReason.Latency))
            .Add("local-x");
        var snapshot = fleet.Snapshot(Chat() with { PanicThreshold = 2 });
        var router = fleet.Router();

        var seen = new HashSet<string>();
        for (int i = 0; i < 50; i++)
        {
            var (chosen, decision, chain) = router.Route(snapshot, "chat");
            Assert.Equal(RouteReason.PanicSpread, decision.Reason);
            seen.Add(chosen!);
            Assert.Single(chain);
        }

        Assert.Equal(["anthropic-c", "azure-b"], seen.Order());
    }

    [Fact]
    public void Below_the_panic_threshold_a_fail_class_fails()
    {
        var fleet = Fleet(Routing.Fleet.Open(BreakerReason.ErrorRate));
        var snapshot = fleet.Snapshot(Chat() with { PanicThreshold = 3, Panic = PanicMode.Fail });

        Assert.Equal(RouteReason.NoCapacity, fleet.Router().Route(snapshot, "chat").Decision.Reason);
        Assert.Equal(RouteReason.PrimaryBreakerOpen, fleet.Router().Route(fleet.Snapshot(Chat() with { PanicThreshold = 2, Panic = PanicMode.Fail }), "chat").Decision.Reason);
    }

    [Fact]
    public void The_chain_is_truncated_to_the_callers_span()
    {
        var fleet = Fleet();
        var snapshot = fleet.Snapshot(Chat());
        Assert.True(snapshot.TryGetClassIndex("chat", out int cls));
        Span<int> chain = stackalloc int[1];

        var decision = fleet.Router().Decide(snapshot, new RouteRequest { ClassIndex = cls }, chain);

        Assert.Equal(1, decision.FallbackCount);
        Assert.Equal(snapshot.Index("azure-b"), chain[0]);
    }

    [Fact]
    public void An_unknown_class_index_is_rejected()
    {
        var fleet = Fleet();
        var snapshot = fleet.Snapshot(Chat());

        Assert.Throws<ArgumentOutOfRangeException>(() => fleet.Router().Decide(snapshot, new RouteRequest { ClassIndex = 5 }, []));
    }

    [Theory]
    [InlineData(RouteReason.Primary, "primary")]
    [InlineData(RouteReason.PrimaryRateLimited, "primary_rate_limited")]
    [InlineData(RouteReason.PrimaryBreakerOpen, "primary_breaker_open")]
    [InlineData(RouteReason.PrimaryDegradedLatency, "primary_degraded_latency")]
    [InlineData(RouteReason.PrimaryQuality, "primary_quality")]
    [InlineData(RouteReason.FallbackAfterError, "fallback_after_error")]
    [InlineData(RouteReason.ForcedOverride, "forced_override")]
    [InlineData(RouteReason.Drained, "drained")]
    [InlineData(RouteReason.QueueOnlyHold, "queue_only_hold")]
    [InlineData(RouteReason.NoCapacity, "no_capacity")]
    [InlineData(RouteReason.HalfOpenProbe, "half_open_probe")]
    [InlineData(RouteReason.PanicSpread, "panic_spread")]
    [InlineData(RouteReason.PrimaryIneligible, "primary_ineligible")]
    public void Route_reasons_have_stable_wire_names(RouteReason reason, string name)
    {
        Assert.Equal(name, reason.ToWireName());
        Assert.True(RouteReasonNames.TryParse(name, out var parsed));
        Assert.Equal(reason, parsed);
    }

    [Fact]
    public void Every_route_reason_has_a_distinct_wire_name()
    {
        Assert.Equal(Enum.GetValues<RouteReason>().Length, RouteReasonNames.All.Distinct().Count());
        Assert.False(RouteReasonNames.TryParse("PRIMARY", out _));
    }
}
