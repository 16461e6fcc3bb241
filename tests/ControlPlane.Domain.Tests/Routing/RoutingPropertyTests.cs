using ControlPlane.Domain.Endpoints;
using ControlPlane.Domain.Policy;
using ControlPlane.Domain.Routing;
using Microsoft.Extensions.Time.Testing;
using FsCheck;
using FsCheck.Fluent;

namespace ControlPlane.Domain.Tests.Routing;

/// <summary>Safety rules of the decision over random fleets, health, policies and requests.</summary>
public sealed class RoutingPropertyTests
{
    private const int Endpoints = 10;

    /// <summary>One random world: a code per endpoint (health, role, capabilities) and one for the class and request.</summary>
    private sealed record World(int[] EndpointCodes, int ClassCode, int RequestCode);

    private static readonly Arbitrary<World> Worlds = Arb.From(
        from codes in Gen.ArrayOf(Gen.Choose(0, int.MaxValue), Endpoints)
        from classCode in Gen.Choose(0, int.MaxValue)
        from requestCode in Gen.Choose(0, int.MaxValue)
        select new World(codes, classCode, requestCode));

    private static readonly Config Runs = Config.QuickThrowOnFailure.WithMaxTest(500);

    private sealed record Built(
        RoutingSnapshot Snapshot,
        WorkloadClassPolicy Policy,
        EndpointHealthView[] Health,
        int[] Exclude,
        Capabilities Caps,
        int Attempt,
        DateTimeOffset Now);

    private static Built Build(World world)
    {
        var time = new FakeTimeProvider();
        var now = time.GetUtcNow();
        var descriptors = new List<EndpointDescriptor>();
        var health = new EndpointHealthView[Endpoints];
        var primary = new List<string>();
        var fallbacks = new List<FallbackApproval>();
        var prohibited = new List<string>();
        var mode = (RoutingMode)(world.ClassCode % 3);
        for (int i = 0; i < Endpoints; i++)
        {
            int c = world.EndpointCodes[i];
            string id = $"ep-{i}";
            descriptors.Add(new EndpointDescriptor { Id = id, Provider = "p", Model = "m", Capabilities = (Capabilities)((c >> 12) & 0b111) });
            var overrideKind = ((c >> 2) & 0b111) switch
            {
                1 => OverrideKind.ForceOpen,
                2 => OverrideKind.ForceClosed,
                3 => OverrideKind.Drain,
                _ => (OverrideKind)0,
            };
            health[i] = new EndpointHealthView
            {
                State = (BreakerState)((c & 0b11) % 3),
                Reason = (BreakerReason)((c >> 15) % 7),
                Degraded = ((c >> 5) & 1) == 1,
                TrafficFraction = ((c >> 16) % 11) / 10.0,
                RateLimitedUntil = ((c >> 6) & 1) == 1 ? now.AddSeconds(30) : null,
                Override = overrideKind == 0 ? null : new AdminOverride(overrideKind, "ops", "test", now, ((c >> 7) & 1) == 1 ? now.AddSeconds(-1) : null),
            };
            switch ((c >> 8) & 0b11)
            {
                case 1:
                    primary.Add(id);
                    break;
                case 2 when mode == RoutingMode.AutoFallback:
                    fallbacks.Add(new FallbackApproval { EndpointId = id, EvalScore = ((c >> 10) & 1) == 1 ? 0.95 : 0.5 });
                    break;
                case 3:
                    prohibited.Add(id);
                    break;
            }
        }

        if (primary.Count == 0)
        {
            primary.Add("ep-0");
            prohibited.Remove("ep-0");
            fallbacks.RemoveAll(f => f.EndpointId == "ep-0");
        }

        var policy = new WorkloadClassPolicy
        {
            Name = "c",
            Mode = mode,
            Primary = primary,
            Fallbacks = fallbacks,
            Prohibited = prohibited,
            QualityGate = (world.ClassCode >> 2) % 2 == 0 ? null : 0.9,
            PanicThreshold = (world.ClassCode >> 3) % 4,
            Panic = (PanicMode)((world.ClassCode >> 5) % 2),
        };
        var snapshot = RoutingSnapshot.Create(descriptors, health, [policy]);
        for (int i = 0; i < Endpoints; i++)
        {
            snapshot.SetProbeSlots(i, (world.EndpointCodes[i] >> 11) & 1);
            snapshot.SetLoad(i, new EndpointLoad { LatencyEwmaMs = (world.EndpointCodes[i] >> 18) % 1000, InFlight = (world.EndpointCodes[i] >> 20) % 20 });
        }

        int r = world.RequestCode;
        int[] exclude = [.. Enumerable.Range(0, Endpoints).Where(i => ((r >> i) & 1) == 1 && ((r >> 20) & 1) == 1)];
        return new Built(snapshot, policy, health, exclude, (Capabilities)((r >> 12) & 0b11), (r >> 14) % 3, now);
    }

    private static bool Holds(World world, Func<Built, RouteDecision, int[], bool> rule)
    {
        var built = Build(world);
        var router = new Router(new RouterOptions(), new FakeTimeProvider(built.Now), new Random(world.RequestCode));
        var chain = new int[Endpoints];
        var decision = router.Decide(
            built.Snapshot,
            new RouteRequest { ClassIndex = 0, RequiredCapabilities = built.Caps, Attempt = built.Attempt, Exclude = built.Exclude, EstimatedInputTokens = 100, MaxOutputTokens = 100 },
            chain);
        int[] used = [.. (decision.HasEndpoint ? [decision.EndpointIndex] : Array.Empty<int>()), .. chain.Take(decision.FallbackCount)];
        return rule(built, decision, used);
    }

    private static string Id(Built b, int index) => b.Snapshot.EndpointAt(index).Id;

    [Fact]
    public void A_prohibited_endpoint_is_never_chosen_nor_in_the_fallback_chain()
    {
        Check.One(Runs, Prop.ForAll(Worlds, w => Holds(w, (b, _, used) => used.All(i => !b.Policy.Prohibited.Contains(Id(b, i))))));
    }

    [Fact]
    public void A_forced_open_drained_or_open_endpoint_is_never_chosen_nor_offered()
    {
        Check.One(Runs, Prop.ForAll(Worlds, w => Holds(w, (b, _, used) => used.All(i =>
        {
            var h = b.Health[i];
            var active = h.Override is { } o && o.IsActive(b.Now) ? o.Kind : (OverrideKind)0;
            return active is not (OverrideKind.ForceOpen or OverrideKind.Drain)
                && (h.State != BreakerState.Open || active == OverrideKind.ForceClosed);
        }))));
    }

    [Fact]
    public void Only_approved_endpoints_are_used_and_never_an_excluded_one_or_twice()
    {
        Check.One(Runs, Prop.ForAll(Worlds, w => Holds(w, (b, d, used) =>
        {
            var approved = b.Policy.Primary.Concat(b.Policy.Fallbacks.Select(f => f.EndpointId)).ToHashSet();
            return used.All(i => approved.Contains(Id(b, i)) && !b.Exclude.Contains(i))
                && used.Distinct().Count() == used.Length
                && (d.HasEndpoint || d.Reason is RouteReason.NoCapacity or RouteReason.QueueOnlyHold);
        })));
    }

    [Fact]
    public void A_queue_only_or_fail_class_never_falls_back()
    {
        Check.One(Runs, Prop.ForAll(Worlds, w => Holds(w, (b, d, used) =>
            b.Policy.Mode == RoutingMode.AutoFallback || used.All(i => b.Policy.Primary.Contains(Id(b, i))))));
    }

    [Fact]
    public void A_half_open_endpoint_is_chosen_only_as_a_probe_or_in_panic()
    {
        Check.One(Runs, Prop.ForAll(Worlds, w => Holds(w, (b, d, _) =>
        {
            if (!d.HasEndpoint || b.Health[d.EndpointIndex].State != BreakerState.HalfOpen)
            {
                return true;
            }

            bool forced = b.Health[d.EndpointIndex].Override is { Kind: OverrideKind.ForceClosed } o && o.IsActive(b.Now);
            return forced || d.IsProbe || d.Reason == RouteReason.PanicSpread;
        })));
    }
}
