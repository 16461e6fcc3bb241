using ControlPlane.Domain.Baselines;
using ControlPlane.Domain.Breakers;
using ControlPlane.Domain.Endpoints;
using ControlPlane.Domain.Health;
using FsCheck;
using FsCheck.Fluent;

namespace ControlPlane.Domain.Tests.Breakers;

public sealed class EndpointBreakerPropertyTests
{
    private static readonly BaselineValues Baseline = new() { LatencyP95 = TimeSpan.FromMilliseconds(100), QualityPassRate = 0.9 };

    // One step of a random history: (what, time advance in ms, a parameter).
    private static readonly Gen<(int Op, int AdvanceMs, int Arg)> Step =
        Gen.Zip(Gen.Zip(Gen.Choose(0, 9), Gen.Choose(0, 90_000)), Gen.Choose(0, 1000), (a, b) => (a.Item1, a.Item2, b));

    private static readonly Gen<(int Op, int AdvanceMs, int Arg)[]> History = Step.ListOf().Select(l => l.ToArray());

    /// <summary>Replays a history; calls <paramref name="check"/> after every step with the view and the active override.</summary>
    private static bool Replay((int Op, int AdvanceMs, int Arg)[] steps, Func<EndpointBreaker, DateTimeOffset, AdminOverride?, bool> check)
    {
        var breaker = new EndpointBreaker(new BreakerOptions { Cooldown = TimeSpan.FromSeconds(5), ConsecutiveFailures = 3 });
        var now = Health.Samples.T0;
        AdminOverride? active = null;
        foreach (var (op, advance, arg) in steps)
        {
            now = now.AddMilliseconds(advance % 7 == 0 ? advance : advance / 100);
            switch (op)
            {
                case 0 or 1:
                    breaker.OnOutcome(new OutcomeSample { At = now, Status = (OutcomeStatus)(arg % OutcomeStatusExtensions.Count), Latency = TimeSpan.FromMilliseconds(arg), RetryAfter = arg % 2 == 0 ? TimeSpan.FromMilliseconds(arg * 50) : null });
                    break;
                case 2:
                    breaker.OnOutcome(Health.Samples.Ok(now));
                    break;
                case 3:
                    breaker.Evaluate(now, new HealthSnapshot { Requests = 100, Successes = 100 - (arg % 20), ServerErrors = arg % 20, LatencySamples = 50, LatencyP95 = TimeSpan.FromMilliseconds(arg), QualityPasses = arg % 100, QualityFailures = 100 - (arg % 100) }, Baseline);
                    break;
                case 4:
                    breaker.TryAcquireProbe(now);
                    break;
                case 5:
                    active = new AdminOverride((OverrideKind)(1 + (arg % 3)), "prop", "test", now, arg % 2 == 0 ? null : now.AddMilliseconds(arg * 100));
                    breaker.SetOverride(active, now);
                    break;
                case 6:
                    breaker.ClearOverride("prop", now);
                    active = null;
                    break;
                default:
                    break;
            }

            if (active is not null && !active.IsActive(now))
            {
                active = null;
            }

            if (!check(breaker, now, active))
            {
                return false;
            }
        }

        return true;
    }

    [Fact]
    public void Never_reports_closed_while_a_ForceOpen_override_is_active()
    {
        Prop.ForAll(Arb.From(History), steps => Replay(steps, (b, now, active) =>
        {
            var view = b.Current(now);
            return active?.Kind is not (OverrideKind.ForceOpen or OverrideKind.Drain)
                || (view.State == BreakerState.Open && view.TrafficFraction == 0 && view.Override == active);
        })).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void Traffic_fraction_is_in_range_and_zero_unless_closed()
    {
        Prop.ForAll(Arb.From(History), steps => Replay(steps, (b, now, _) =>
        {
            var view = b.Current(now);
            return view.TrafficFraction is >= 0 and <= 1
                && (view.State == BreakerState.Closed) == (view.TrafficFraction > 0)
                && (view.RateLimitedUntil is null || view.RateLimitedUntil > now);
        })).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void Events_are_ordered_in_time_and_chain_from_state_to_state()
    {
        Prop.ForAll(Arb.From(History), steps =>
        {
            var published = BreakerState.Closed;
            var last = DateTimeOffset.MinValue;
            return Replay(steps, (b, now, _) =>
            {
                // Reading the view may itself apply a due transition, so read first, then take events.
                var view = b.Current(now);
                foreach (var e in b.DrainEvents())
                {
                    if (e.From != published || e.At < last)
                    {
                        return false;
                    }

                    published = e.To;
                    last = e.At;
                }

                return view.State == published;
            });
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void Half_open_never_admits_more_than_the_probe_bound_within_the_probe_timeout()
    {
        var gen = Gen.Zip(Gen.Choose(1, 10), Gen.Choose(0, 20), (probes, tries) => (probes, tries));
        Prop.ForAll(Arb.From(gen), t =>
        {
            var breaker = new EndpointBreaker(new BreakerOptions { HalfOpenProbes = t.probes, ConsecutiveFailures = 1 });
            var now = Health.Samples.T0;
            breaker.OnOutcome(Health.Samples.Fail(now));
            now = now.AddMinutes(1);
            var admitted = Enumerable.Range(0, t.tries).Count(_ => breaker.TryAcquireProbe(now));
            return admitted == Math.Min(t.probes, t.tries);
        }).QuickCheckThrowOnFailure();
    }
}
