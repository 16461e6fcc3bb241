using ControlPlane.Domain.Endpoints;
using ControlPlane.Domain.Policy;
using ControlPlane.Domain.Quotas;

namespace ControlPlane.Domain.Routing;

/// <summary>
/// The decision function: which endpoint serves a request, what to try next, why, with which timeout and
/// reservation. Deterministic given the snapshot, the clock and the random source; allocation-free (stack
/// scratch space only, the fallback chain goes to the caller's span). Rules, in order:
/// <list type="number">
/// <item>Only the class's compiled candidates are considered (never a prohibited endpoint). A ForceOpen or
/// Drain override, an open breaker, an excluded endpoint or one lacking the request's capabilities/context
/// is never chosen; a ForceClosed override is eligible whatever the health signals say.</item>
/// <item>Below the class's panic threshold: fail, or spread over every approved endpoint that is not open.</item>
/// <item>A half-open primary with a probe slot takes the request as a probe; otherwise eligible primaries are
/// balanced by weighted power-of-two-choices (weights cut by Degraded and the recovery ramp).</item>
/// <item>With no primary: queue_only holds, fail fails, auto_fallback takes the first eligible fallback in
/// the approved order; the reason says why the first primary was skipped.</item>
/// </list>
/// </summary>
public sealed partial class Router
{
    // Factor by which a budget whose attempts keep timing out grows past the budget they were cut at.
    private const double TimeoutBackoff = 2;

    private readonly RouterOptions _options;
    private readonly TimeProvider _time;
    private readonly Random _random;
    private readonly IQuotaGate? _quota;
    private readonly double _floorMs;
    private readonly double _ceilingMs;

    /// <summary>Creates a router.</summary>
    /// <param name="options">Tuning; validated here.</param>
    /// <param name="time">Clock (rate-limit cooldowns and override expiry are compared to it).</param>
    /// <param name="random">Random source for power-of-two-choices; use <see cref="Random.Shared"/> when
    /// deciding from several threads, a seeded instance in tests.</param>
    /// <param name="quota">Quota state consulted per candidate; null when nothing is limited.</param>
    public Router(RouterOptions options, TimeProvider time, Random random, IQuotaGate? quota = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(random);
        options.Validate();
        _options = options;
        _time = time;
        _random = random;
        _quota = quota;
        _floorMs = options.TimeoutFloor.TotalMilliseconds;
        _ceilingMs = options.TimeoutCeiling.TotalMilliseconds;
    }

    private enum Verdict : byte
    {
        Eligible,
        EligibleForced,
        ProbeReady,
        HalfOpenNoProbe,
        Open,
        RateLimited,
        NoQuota,
        ForcedOpen,
        Drained,
        Excluded,
        Incapable,
        Ramping,
    }

    /// <summary>Decides where <paramref name="request"/> goes. The fallback chain (endpoint indices, best
    /// first, approved endpoints only) is written to <paramref name="fallbacks"/>, truncated to its length.</summary>
    public RouteDecision Decide(RoutingSnapshot snapshot, scoped in RouteRequest request, Span<int> fallbacks)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        if ((uint)request.ClassIndex >= (uint)snapshot.ClassCount)
        {
            throw new ArgumentOutOfRangeException(nameof(request), request.ClassIndex, "unknown workload class index");
        }

        var route = snapshot.Classes[request.ClassIndex];
        var reservation = TokenReservation.ForRequest(request.EstimatedInputTokens, request.MaxOutputTokens);
        var now = _time.GetUtcNow();
        int[] primaries = route.Primaries;
        int[] approvedFallbacks = route.Fallbacks;
        int total = primaries.Length + approvedFallbacks.Length;

        Span<Verdict> verdicts = stackalloc Verdict[total];
        Span<int> pool = stackalloc int[total];
        Span<double> weights = stackalloc double[total];
        int available = 0;
        int availablePrimaries = 0;
        bool primaryExcluded = false;
        for (int i = 0; i < total; i++)
        {
            int e = i < primaries.Length ? primaries[i] : approvedFallbacks[i - primaries.Length];
            var verdict = Assess(snapshot, e, request, reservation, now);
            verdicts[i] = verdict;
            if (verdict is Verdict.Eligible or Verdict.EligibleForced)
            {
                available++;
                if (i < primaries.Length)
                {
                    availablePrimaries++;
                }
            }
            else if (verdict == Verdict.Excluded && i < primaries.Length)
            {
                primaryExcluded = true;
            }
        }

        // Recovery ramp: a primary back from an outage takes only its TrafficFraction of the requests; the
        // rest go to the other candidates. Without another candidate (or outside auto_fallback) it takes all.
        bool rampGated = route.Mode == RoutingMode.AutoFallback;
        for (int i = 0; rampGated && i < primaries.Length && available > 1; i++)
        {
            if (verdicts[i] == Verdict.Eligible)
            {
                double fraction = snapshot.Slots[primaries[i]].TrafficFraction;
                if (fraction < 1.0 && _random.NextDouble() >= fraction)
                {
                    verdicts[i] = Verdict.Ramping;
                    available--;
                    availablePrimaries--;
                }
            }
        }

        if (route.PanicThreshold > 0 && available < route.PanicThreshold)
        {
            if (route.Panic == PanicMode.Fail)
            {
                return NoEndpoint(RouteReason.NoCapacity, reservation);
            }

            int n = 0;
            for (int i = 0; i < total; i++)
            {
                int e = i < primaries.Length ? primaries[i] : approvedFallbacks[i - primaries.Length];
                if (SpreadEligible(verdicts[i], request.ClassIndex, e, reservation, now))
                {
                    pool[n] = e;
                    weights[n] = 1;
                    n++;
                }
            }

            if (n > 0)
            {
                int chosen = PowerOfTwoChoices(snapshot, pool[..n], weights[..n]);
                int chain = 0;
                for (int i = 0; i < n && chain < fallbacks.Length; i++)
                {
                    if (pool[i] != chosen)
                    {
                        fallbacks[chain++] = pool[i];
                    }
                }

                return Chosen(snapshot, chosen, RouteReason.PanicSpread, reservation, request, chain, isProbe: false);
            }
        }

        int pick = -1;
        bool probe = false;
        RouteReason reason;
        for (int i = 0; i < primaries.Length && pick < 0; i++)
        {
            if (verdicts[i] == Verdict.ProbeReady && snapshot.TryTakeProbe(primaries[i]))
            {
                pick = primaries[i];
                probe = true;
            }
            else if (verdicts[i] == Verdict.HalfOpenNoProbe)
            {
                // No slot here: the node asks the endpoint's grain for a permit (bounded cluster-wide).
                snapshot.MarkProbeWanted(primaries[i]);
            }
        }

        if (pick >= 0)
        {
            reason = RouteReason.HalfOpenProbe;
        }
        else if (availablePrimaries > 0)
        {
            int n = 0;
            for (int i = 0; i < primaries.Length; i++)
            {
                if (verdicts[i] is Verdict.Eligible or Verdict.EligibleForced)
                {
                    pool[n] = primaries[i];
                    weights[n] = Weight(snapshot.Slots[primaries[i]], verdicts[i], rampGated);
                    n++;
                }
            }

            pick = PowerOfTwoChoices(snapshot, pool[..n], weights[..n]);
            reason = snapshot.Slots[pick].ActiveOverride(now.UtcTicks) == OverrideKind.ForceClosed
                ? RouteReason.ForcedOverride
                : primaryExcluded && request.Attempt > 0 ? RouteReason.FallbackAfterError : RouteReason.Primary;
        }
        else
        {
            if (route.Mode == RoutingMode.QueueOnly)
            {
                return NoEndpoint(RouteReason.QueueOnlyHold, reservation);
            }

            if (route.Mode == RoutingMode.Fail)
            {
                return NoEndpoint(RouteReason.NoCapacity, reservation);
            }

            reason = primaryExcluded && request.Attempt > 0
                ? RouteReason.FallbackAfterError
                : primaries.Length == 0 ? RouteReason.PrimaryIneligible : SkipReason(verdicts[0], snapshot.Slots[primaries[0]]);
            for (int i = primaries.Length; i < total && pick < 0; i++)
            {
                int e = approvedFallbacks[i - primaries.Length];
                if (verdicts[i] is Verdict.Eligible or Verdict.EligibleForced)
                {
                    pick = e;
                }
                else if (verdicts[i] == Verdict.ProbeReady && snapshot.TryTakeProbe(e))
                {
                    pick = e;
                    probe = true;
                }
                else if (verdicts[i] == Verdict.HalfOpenNoProbe)
                {
                    snapshot.MarkProbeWanted(e);
                }
            }

            if (pick < 0)
            {
                return NoEndpoint(RouteReason.NoCapacity, reservation);
            }
        }

        int count = 0;
        for (int i = 0; i < total && count < fallbacks.Length; i++)
        {
            int e = i < primaries.Length ? primaries[i] : approvedFallbacks[i - primaries.Length];
            if (e != pick && verdicts[i] is Verdict.Eligible or Verdict.EligibleForced or Verdict.Ramping)
            {
                fallbacks[count++] = e;
            }
        }

        return Chosen(snapshot, pick, reason, reservation, request, count, probe);
    }

    /// <summary>The adaptive timeout budget for an attempt on an endpoint with <paramref name="load"/>:
    /// headroom × (p95 fixed latency + p95 per-output-token latency × max output tokens), at least twice
    /// <see cref="EndpointLoad.TimedOutAtMs"/>, clamped to [floor, ceiling], then capped by the remaining deadline;
    /// with no max output tokens, headroom × the p95 of a whole request when known. Without figures, the default
    /// timeout.</summary>
    public TimeSpan TimeoutBudget(in EndpointLoad load, long maxOutputTokens, TimeSpan? remainingDeadline)
    {
        TimeSpan budget;
        double fixedMs = Math.Max(load.P95LatencyMs, load.P50LatencyMs);
        double perTokenMs = load.PerOutputTokenMs;
        if (maxOutputTokens <= 0 && load.P95RequestLatencyMs > 0)
        {
            // Unknown output length: the time to first token alone would be far too short.
            fixedMs = load.P95RequestLatencyMs;
            perTokenMs = 0;
        }

        if (fixedMs > 0 || perTokenMs > 0)
        {
            double ms = _options.TimeoutHeadroom * (fixedMs + (perTokenMs * Math.Max(0, maxOutputTokens)));
            // Timeouts never feed the percentiles, so many timeouts mean the real p95 is above the budget they were
            // cut at: back off multiplicatively past it (bounded by the ceiling) instead of spiralling at the floor.
            ms = Math.Max(ms, TimeoutBackoff * load.TimedOutAtMs);
            ms = Math.Ceiling(Math.Clamp(ms, _floorMs, _ceilingMs));
            budget = TimeSpan.FromMilliseconds(ms);
        }
        else
        {
            budget = _options.DefaultTimeout;
        }

        if (remainingDeadline is { } deadline)
        {
            budget = deadline <= TimeSpan.Zero ? TimeSpan.Zero : deadline < budget ? deadline : budget;
        }

        return budget;
    }

    private static RouteDecision NoEndpoint(RouteReason reason, in TokenReservation reservation) =>
        new(-1, reason, TimeSpan.Zero, reservation, 0, false);

    private static RouteReason SkipReason(Verdict verdict, EndpointSlot slot) => verdict switch
    {
        Verdict.Open or Verdict.HalfOpenNoProbe or Verdict.ProbeReady => slot.Reason switch
        {
            BreakerReason.Latency => RouteReason.PrimaryDegradedLatency,
            BreakerReason.Quality => RouteReason.PrimaryQuality,
            BreakerReason.Forced => RouteReason.ForcedOverride,
            _ => RouteReason.PrimaryBreakerOpen,
        },
        Verdict.RateLimited or Verdict.NoQuota => RouteReason.PrimaryRateLimited,
        Verdict.ForcedOpen => RouteReason.ForcedOverride,
        Verdict.Drained => RouteReason.Drained,
        Verdict.Excluded => RouteReason.FallbackAfterError,
        Verdict.Incapable => RouteReason.PrimaryIneligible,
        Verdict.Ramping => RouteReason.PrimaryRecovering,
        _ => RouteReason.Primary,
    };

    private RouteDecision Chosen(RoutingSnapshot snapshot, int endpoint, RouteReason reason, in TokenReservation reservation, scoped in RouteRequest request, int chain, bool isProbe) =>
        new(endpoint, reason, TimeoutBudget(snapshot.Loads[endpoint], request.MaxOutputTokens, request.RemainingDeadline), reservation, chain, isProbe);

    private Verdict Assess(RoutingSnapshot snapshot, int e, scoped in RouteRequest request, in TokenReservation reservation, DateTimeOffset now)
    {
        foreach (int excluded in request.Exclude)
        {
            if (excluded == e)
            {
                return Verdict.Excluded;
            }
        }

        var slot = snapshot.Slots[e];
        if ((slot.Capabilities & request.RequiredCapabilities) != request.RequiredCapabilities
            || slot.ContextWindow < reservation.Tokens)
        {
            return Verdict.Incapable;
        }

        long nowTicks = now.UtcTicks;
        switch (slot.ActiveOverride(nowTicks))
        {
            case OverrideKind.ForceOpen:
                return Verdict.ForcedOpen;
            case OverrideKind.Drain:
                return Verdict.Drained;
            case OverrideKind.ForceClosed:
                // Forced closed ignores health signals, but never a hard quota limit.
                return HasQuota(request.ClassIndex, e, reservation, now) ? Verdict.EligibleForced : Verdict.NoQuota;
        }

        return slot.State switch
        {
            BreakerState.Open => Verdict.Open,
            BreakerState.HalfOpen when snapshot.ProbeSlotsAt(e) <= 0 || TooShortToProbe(snapshot.Loads[e], request.RemainingDeadline) => Verdict.HalfOpenNoProbe,
            BreakerState.HalfOpen => HasQuota(request.ClassIndex, e, reservation, now) ? Verdict.ProbeReady : Verdict.NoQuota,
            _ when slot.RateLimitedUntilTicks > nowTicks => Verdict.RateLimited,
            _ => HasQuota(request.ClassIndex, e, reservation, now) ? Verdict.Eligible : Verdict.NoQuota,
        };
    }

    private bool HasQuota(int classIndex, int endpoint, in TokenReservation reservation, DateTimeOffset now) =>
        _quota?.CanAdmit(classIndex, endpoint, reservation, now) ?? true;

    private bool SpreadEligible(Verdict verdict, int classIndex, int endpoint, in TokenReservation reservation, DateTimeOffset now) => verdict switch
    {
        Verdict.Eligible or Verdict.EligibleForced or Verdict.ProbeReady or Verdict.Ramping => true,
        Verdict.HalfOpenNoProbe or Verdict.RateLimited => HasQuota(classIndex, endpoint, reservation, now),
        _ => false,
    };

    // When the ramp already gated admission, the fraction is not applied a second time as a weight.
    private double Weight(EndpointSlot slot, Verdict verdict, bool rampGated) =>
        verdict == Verdict.EligibleForced ? 1.0 : (rampGated ? 1.0 : slot.TrafficFraction) * (slot.Degraded ? _options.DegradedWeight : 1.0);

    private int PowerOfTwoChoices(RoutingSnapshot snapshot, ReadOnlySpan<int> pool, Span<double> weights)
    {
        if (pool.Length == 1)
        {
            return pool[0];
        }

        double sum = 0;
        foreach (double w in weights)
        {
            sum += w;
        }

        if (sum <= 0)
        {
            // Every candidate is ramped to zero: treat them alike rather than refuse the request.
            weights.Fill(1.0);
            sum = weights.Length;
        }

        int a = Sample(weights, sum, skip: -1);
        double rest = sum - weights[a];
        if (rest <= 0)
        {
            return pool[a];
        }

        int b = Sample(weights, rest, skip: a);
        return Cost(snapshot.Loads[pool[b]], snapshot.InFlightAt(pool[b])) < Cost(snapshot.Loads[pool[a]], snapshot.InFlightAt(pool[a])) ? pool[b] : pool[a];
    }

    private int Sample(ReadOnlySpan<double> weights, double sum, int skip)
    {
        double r = _random.NextDouble() * sum;
        int last = -1;
        for (int i = 0; i < weights.Length; i++)
        {
            if (i == skip || weights[i] <= 0)
            {
                continue;
            }

            last = i;
            r -= weights[i];
            if (r < 0)
            {
                return i;
            }
        }

        // Floating-point rounding can leave r at a hair above zero: the last weighted candidate takes it.
        return last;
    }

    // Latency × (1 + requests in flight) × error penalty. In flight: the published figure plus this node's live count
    // (RoutingSnapshot.AddInFlight), so between two primaries the faster one takes requests only until its queue makes
    // it dearer than the slower one: both get a share (least loaded), and both keep fresh figures.
    private double Cost(in EndpointLoad load, int liveInFlight)
    {
        double latency = load.LatencyEwmaMs > 0 ? load.LatencyEwmaMs : load.P50LatencyMs;
        double inFlight = (double)Math.Max(0, load.InFlight) + Math.Max(0, liveInFlight);
        return (latency + 1.0) * (1.0 + inFlight) * (1.0 + (_options.ErrorPenalty * Math.Clamp(load.ErrorRate, 0, 1)));
    }
}
