using System.Globalization;
using ControlPlane.Domain.Baselines;
using ControlPlane.Domain.Endpoints;
using ControlPlane.Domain.Health;

namespace ControlPlane.Domain.Breakers;

/// <summary>The circuit breaker of one endpoint (or one endpoint for one workload class), tripped by three
/// signals: errors (consecutive failures or error rate), latency against its baseline, and quality against its
/// baseline. Open turns half-open after a cooldown that grows with repeated trips; half-open admits a bounded
/// set of probes; success closes it with a gradual traffic ramp that advances only through healthy evaluation
/// periods (error rate since closing under <see cref="BreakerOptions.RampMaxErrorRate"/>). 429s cool the endpoint without counting as
/// failures. Admin overrides win over all of it. Time only moves forward: every call takes the caller's
/// <c>now</c> (from its <see cref="TimeProvider"/>) and earlier times never undo a transition. Every transition
/// is queued as a <see cref="BreakerEvent"/>; take them with <see cref="DrainEvents"/>. Not thread-safe.</summary>
public sealed partial class EndpointBreaker
{
    private readonly BreakerOptions _options;
    private readonly List<BreakerEvent> _events = [];
    private BreakerState _state = BreakerState.Closed;
    private BreakerReason _reason = BreakerReason.None;
    private DateTimeOffset _since = DateTimeOffset.MinValue;
    private DateTimeOffset _openUntil;
    private DateTimeOffset _clock = DateTimeOffset.MinValue;
    private int _trips;
    private int _consecutiveFailures;
    private int _degradedPeriods;
    private int _clearPeriods;
    private int _openLatencyPeriods;
    private bool _degraded;
    private int _probesAcquired;
    private int _probeSuccesses;
    private DateTimeOffset _lastProbeAt;
    private DateTimeOffset? _rampStart;
    private TimeSpan _rampHealthy;
    private DateTimeOffset _rampCheckedAt;
    private DateTimeOffset? _rateLimitedUntil;
    private AdminOverride? _override;

    /// <summary>Creates a closed breaker; validates <paramref name="options"/>.</summary>
    public EndpointBreaker(BreakerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Validate();
    }

    /// <summary>The automatic state, ignoring overrides.</summary>
    public BreakerState AutomaticState => _state;

    /// <summary>When the automatic state last changed; window signals should only use buckets from here on
    /// (<see cref="HealthWindow.Snapshot"/>'s <c>notBefore</c>), so a closed breaker is not re-tripped by
    /// the samples that opened it.</summary>
    public DateTimeOffset SignalsSince => _since;

    /// <summary>Trips since the breaker was last healthy for <see cref="BreakerOptions.CooldownResetAfter"/>.</summary>
    public int Trips => _trips;

    /// <summary>When an open breaker turns half-open; null unless open.</summary>
    public DateTimeOffset? OpenUntil => _state == BreakerState.Open ? _openUntil : null;

    /// <summary>Events queued since the last <see cref="DrainEvents"/>.</summary>
    public int PendingEvents => _events.Count;

    /// <summary>The published view at <paramref name="now"/>: automatic state with any active override applied.</summary>
    public EndpointHealthView Current(DateTimeOffset now)
    {
        Advance(now);
        return View(Max(now, _clock));
    }

    /// <summary>Takes the queued events, oldest first.</summary>
    public IReadOnlyList<BreakerEvent> DrainEvents()
    {
        if (_events.Count == 0)
        {
            return [];
        }

        var events = _events.ToArray();
        _events.Clear();
        return events;
    }

    /// <summary>Feeds one outcome (consecutive failures, probe results, 429 cooling). Outcomes from before the
    /// current state began are ignored: they describe the endpoint as it was.</summary>
    public void OnOutcome(in OutcomeSample sample)
    {
        Advance(sample.At);
        var at = sample.At;
        if (sample.Status == OutcomeStatus.RateLimited)
        {
            CoolForRateLimit(sample);
            return;
        }

        if (at < _since)
        {
            return;
        }

        var failure = sample.Status.IsEndpointFailure();
        switch (_state)
        {
            case BreakerState.Closed when failure:
                if (++_consecutiveFailures >= _options.ConsecutiveFailures)
                {
                    Trip(at, BreakerReason.ConsecutiveFailures,
                        Invariant($"{_consecutiveFailures} consecutive failures, last {sample.Status}"));
                }

                break;
            case BreakerState.Closed:
                _consecutiveFailures = 0;
                break;
            case BreakerState.HalfOpen when failure:
                Trip(at, BreakerReason.ProbeFailed, Invariant($"probe failed with {sample.Status}"));
                break;
            case BreakerState.HalfOpen when sample.Status == OutcomeStatus.Success:
                if (++_probeSuccesses >= _options.HalfOpenProbes)
                {
                    Close(at);
                }

                break;
            case BreakerState.HalfOpen:
                // A caller error says nothing about recovery: give the probe slot back.
                _probesAcquired = Math.Max(_probeSuccesses, _probesAcquired - 1);
                break;
            default:
                break;
        }
    }

    /// <summary>One evaluation period: judges the error rate, quality and latency of <paramref name="window"/>
    /// (taken with <c>notBefore: SignalsSince</c>) against <paramref name="baseline"/>. Only a closed breaker trips here.</summary>
    public void Evaluate(DateTimeOffset now, in HealthSnapshot window, in BaselineValues baseline) =>
        Evaluate(now, window, baseline, default);

    /// <summary>One evaluation period as <see cref="Evaluate(DateTimeOffset, in HealthSnapshot, in BaselineValues)"/>, and
    /// also the newest verdicts (<paramref name="newestQuality"/>, from <see cref="HealthWindow.WeakestQuality"/> with
    /// <c>notBefore: SignalsSince</c>): they open the breaker when they hold <see cref="BreakerOptions.MinQualitySamples"/>
    /// and their pass rate's upper bound (<see cref="BreakerOptions.QualityConfidenceZ"/>) is under the quality threshold.</summary>
    public void Evaluate(DateTimeOffset now, in HealthSnapshot window, in BaselineValues baseline, in QualityEvidence newestQuality)
    {
        Advance(now);
        now = Max(now, _clock);
        if (_state != BreakerState.Closed)
        {
            return;
        }

        AdvanceRamp(now, window);
        if (window.Served >= _options.MinRequestsForErrorRate && window.ErrorRate > _options.ErrorRateThreshold)
        {
            Trip(now, BreakerReason.ErrorRate,
                Invariant($"error rate {window.ErrorRate:P2} over {window.Served} requests > {_options.ErrorRateThreshold:P2}"));
            return;
        }

        if (baseline.QualityPassRate is { } basePass && window.QualityVerdicts >= _options.MinQualitySamples
            && window.QualityPassRate is { } pass && pass < basePass * (1 - _options.QualityDropFraction))
        {
            Trip(now, BreakerReason.Quality,
                Invariant($"pass rate {pass:P2} over {window.QualityVerdicts} verdicts < {1 - _options.QualityDropFraction:P0} of baseline {basePass:P2}"));
            return;
        }

        if (NewestQualityTrips(now, newestQuality, baseline))
        {
            return;
        }

        if (baseline.LatencyP95 is { } baseP95 && baseP95 > TimeSpan.Zero
            && window.LatencySamples >= _options.MinLatencySamples && window.LatencyP95 is { } p95)
        {
            EvaluateLatency(now, p95 / baseP95, p95, baseP95);
        }
    }

    /// <summary>Admits one half-open probe if the bound allows; false in any other state or under an override.</summary>
    public bool TryAcquireProbe(DateTimeOffset now)
    {
        Advance(now);
        if (_override is not null || _state != BreakerState.HalfOpen || _probesAcquired >= _options.HalfOpenProbes)
        {
            return false;
        }

        _probesAcquired++;
        _lastProbeAt = Max(now, _clock);
        return true;
    }

    /// <summary>Sets an admin override (replacing any other) at <paramref name="now"/>.</summary>
    public void SetOverride(AdminOverride adminOverride, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(adminOverride);
        Advance(now);
        now = Max(now, _clock);
        if (!adminOverride.IsActive(now))
        {
            throw new ArgumentException($"The override expired at {adminOverride.ExpiresAt:O}, before {now:O}.", nameof(adminOverride));
        }

        var from = PublishedState();
        _override = adminOverride;
        var expiry = adminOverride.ExpiresAt is { } e ? Invariant($" until {e:O}") : "";
        Emit(BreakerEventKind.OverrideSet, from, now, $"{adminOverride.Kind} by {adminOverride.Actor}{expiry}: {adminOverride.Reason}");
    }

    /// <summary>Clears the active override, if any; returns whether there was one.</summary>
    public bool ClearOverride(string actor, DateTimeOffset now)
    {
        Advance(now);
        if (_override is null)
        {
            return false;
        }

        var from = PublishedState();
        var kind = _override.Kind;
        _override = null;
        Emit(BreakerEventKind.OverrideCleared, from, Max(now, _clock), $"{kind} cleared by {actor}");
        return true;
    }

    /// <summary>Everything needed to rebuild this breaker after a restart or hand-off.</summary>
    public BreakerSnapshot Export() => new(
        _state, _reason, _since, _openUntil, _clock, _trips, _consecutiveFailures, _degraded, _degradedPeriods,
        _clearPeriods, _openLatencyPeriods, _probesAcquired, _probeSuccesses, _lastProbeAt, _rampStart, _rateLimitedUntil, _override,
        _rampHealthy, _rampCheckedAt, _gatePasses, _gateProbes, _gateConsecutive, _gatePassedAt);

    /// <summary>Rebuilds a breaker from <see cref="Export"/>.</summary>
    public static EndpointBreaker Restore(BreakerOptions options, BreakerSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        return new EndpointBreaker(options)
        {
            _state = snapshot.State,
            _reason = snapshot.Reason,
            _since = snapshot.Since,
            _openUntil = snapshot.OpenUntil,
            _clock = snapshot.Clock,
            _trips = snapshot.Trips,
            _consecutiveFailures = snapshot.ConsecutiveFailures,
            _degraded = snapshot.Degraded,
            _degradedPeriods = snapshot.DegradedPeriods,
            _clearPeriods = snapshot.ClearPeriods,
            _openLatencyPeriods = snapshot.OpenLatencyPeriods,
            _probesAcquired = snapshot.ProbesAcquired,
            _probeSuccesses = snapshot.ProbeSuccesses,
            _lastProbeAt = snapshot.LastProbeAt,
            _rampStart = snapshot.RampStart,
            _rampHealthy = snapshot.RampHealthy,
            _rampCheckedAt = snapshot.RampCheckedAt,
            _rateLimitedUntil = snapshot.RateLimitedUntil,
            _override = snapshot.Override,
            _gatePasses = snapshot.GatePasses,
            _gateProbes = snapshot.GateProbes,
            _gateConsecutive = snapshot.GateConsecutive,
            _gatePassedAt = snapshot.GatePassedAt,
        };
    }

    /// <summary>Cooldown applied by trip number <paramref name="trip"/> (1-based): grows by the multiplier up to the cap.</summary>
    public TimeSpan CooldownFor(int trip)
    {
        var ticks = _options.Cooldown.Ticks * Math.Pow(_options.CooldownMultiplier, Math.Max(0, trip - 1));
        return ticks >= _options.MaxCooldown.Ticks ? _options.MaxCooldown : TimeSpan.FromTicks((long)ticks);
    }

    /// <summary>Healthy ramp time counted since closing (the ramp's progress); zero when no ramp runs.</summary>
    public TimeSpan RampHealthyTime => _rampStart is null ? TimeSpan.Zero : _rampHealthy;

    // The ramp's clock: the time since the last evaluation counts only when the window since closing is under the
    // ramp's error-rate threshold; otherwise the traffic fraction holds where it is.
    private void AdvanceRamp(DateTimeOffset now, in HealthSnapshot window)
    {
        if (_rampStart is not { } start)
        {
            return;
        }

        var from = _rampCheckedAt > start ? _rampCheckedAt : start;
        if (now <= from)
        {
            return;
        }

        _rampCheckedAt = now;
        if (window.ErrorRate < _options.RampMaxErrorRate)
        {
            _rampHealthy += now - from;
        }

        if (_rampHealthy >= _options.RampObservation + _options.RampDuration)
        {
            _rampStart = null;
            _rampHealthy = TimeSpan.Zero;
        }
    }

    private void EvaluateLatency(DateTimeOffset now, double ratio, TimeSpan p95, TimeSpan baseP95)
    {
        if (ratio > _options.DegradedLatencyFactor)
        {
            _degradedPeriods++;
            _clearPeriods = 0;
            if (!_degraded && _degradedPeriods >= _options.DegradedPeriods)
            {
                var from = PublishedState();
                _degraded = true;
                Emit(BreakerEventKind.Degraded, from, now,
                    Invariant($"p95 {p95.TotalMilliseconds:F0} ms = {ratio:F2}x baseline {baseP95.TotalMilliseconds:F0} ms for {_degradedPeriods} periods"));
            }
        }
        else
        {
            _degradedPeriods = 0;
            if (_degraded && ++_clearPeriods >= _options.DegradedPeriods)
            {
                var from = PublishedState();
                _degraded = false;
                _clearPeriods = 0;
                Emit(BreakerEventKind.DegradationCleared, from, now,
                    Invariant($"p95 {p95.TotalMilliseconds:F0} ms = {ratio:F2}x baseline for {_options.DegradedPeriods} periods"));
            }
        }

        _openLatencyPeriods = ratio > _options.OpenLatencyFactor ? _openLatencyPeriods + 1 : 0;
        if (_openLatencyPeriods >= _options.OpenLatencyPeriods)
        {
            Trip(now, BreakerReason.Latency,
                Invariant($"p95 {p95.TotalMilliseconds:F0} ms = {ratio:F2}x baseline {baseP95.TotalMilliseconds:F0} ms > {_options.OpenLatencyFactor}x for {_openLatencyPeriods} periods"));
        }
    }

    private void CoolForRateLimit(in OutcomeSample sample)
    {
        var retryAfter = sample.RetryAfter ?? _options.DefaultRetryAfter;
        if (retryAfter > _options.MaxRetryAfter)
        {
            retryAfter = _options.MaxRetryAfter;
        }

        var until = sample.At + retryAfter;
        var current = _rateLimitedUntil;
        if (current is { } c && c >= until)
        {
            return;
        }

        _rateLimitedUntil = until;
        if (current is null || current.Value <= sample.At)
        {
            var state = PublishedState();
            Emit(BreakerEventKind.RateLimited, state, sample.At, Invariant($"429: cooling for {retryAfter} until {until:O}"));
        }
    }

    private void Advance(DateTimeOffset now)
    {
        if (now > _clock)
        {
            _clock = now;
        }

        var t = _clock;
        while (true)
        {
            // Time-driven transitions in due order: cooldown end and override expiry.
            // With a recovery gate (EndpointBreaker.RecoveryGate.cs) the cooldown's end waits for the golden set.
            DateTimeOffset? openDue = _state == BreakerState.Open && _openUntil <= t ? GateDue(t) : null;
            DateTimeOffset? expiryDue = _override is { ExpiresAt: { } e } && e <= t ? e : null;
            if (openDue is null && expiryDue is null)
            {
                break;
            }

            if (openDue is { } o && (expiryDue is null || o <= expiryDue.Value))
            {
                var from = PublishedState();
                _state = BreakerState.HalfOpen;
                _since = o;
                _probesAcquired = 0;
                _probeSuccesses = 0;
                _lastProbeAt = o;
                Emit(BreakerEventKind.StateChanged, from, o, Invariant($"cooldown ended{GateDetail()}; admitting {_options.HalfOpenProbes} probes"));
                ResetGate();
            }
            else
            {
                var from = PublishedState();
                var kind = _override!.Kind;
                _override = null;
                Emit(BreakerEventKind.OverrideExpired, from, expiryDue!.Value, Invariant($"{kind} expired"));
            }
        }

        if (_state == BreakerState.HalfOpen && _probesAcquired > _probeSuccesses && t - _lastProbeAt >= _options.ProbeTimeout)
        {
            _probesAcquired = _probeSuccesses;
        }

        if (_state == BreakerState.Closed && _trips > 0 && t - _since >= _options.CooldownResetAfter)
        {
            _trips = 0;
        }
    }

    private void Trip(DateTimeOffset at, BreakerReason reason, string detail)
    {
        var from = PublishedState();
        _trips++;
        var cooldown = CooldownFor(_trips);
        _state = BreakerState.Open;
        _reason = reason;
        _since = at;
        _openUntil = at + cooldown;
        ResetSignals();
        ResetGate();
        _rampStart = null;
        _rampHealthy = TimeSpan.Zero;
        Emit(BreakerEventKind.StateChanged, from, at, Invariant($"{detail}; trip {_trips}, cooldown {cooldown}{GateNote()}"));
    }

    private void Close(DateTimeOffset at)
    {
        var from = PublishedState();
        _state = BreakerState.Closed;
        _reason = BreakerReason.None;
        _since = at;
        ResetSignals();
        _rampStart = _options.RampObservation + _options.RampDuration > TimeSpan.Zero ? at : null;
        _rampHealthy = TimeSpan.Zero;
        _rampCheckedAt = at;
        Emit(BreakerEventKind.StateChanged, from, at,
            Invariant($"{_options.HalfOpenProbes} probes succeeded; traffic holds at {_options.RampStartFraction:P0} for {_options.RampObservation} then ramps over {_options.RampDuration}, counting only periods under {_options.RampMaxErrorRate:P0} errors"));
    }

    private void ResetSignals()
    {
        _consecutiveFailures = 0;
        _degraded = false;
        _degradedPeriods = 0;
        _clearPeriods = 0;
        _openLatencyPeriods = 0;
        _probesAcquired = 0;
        _probeSuccesses = 0;
    }

    private EndpointHealthView View(DateTimeOffset now)
    {
        var rateLimitedUntil = _rateLimitedUntil is { } u && u > now ? u : (DateTimeOffset?)null;
        return _override?.Kind switch
        {
            OverrideKind.ForceOpen or OverrideKind.Drain => new EndpointHealthView
            {
                State = BreakerState.Open,
                Reason = BreakerReason.Forced,
                Degraded = false,
                TrafficFraction = 0,
                RateLimitedUntil = rateLimitedUntil,
                Override = _override,
            },
            OverrideKind.ForceClosed => new EndpointHealthView
            {
                State = BreakerState.Closed,
                Reason = BreakerReason.Forced,
                Degraded = false,
                TrafficFraction = 1,
                RateLimitedUntil = rateLimitedUntil,
                Override = _override,
            },
            _ => new EndpointHealthView
            {
                State = _state,
                Reason = _reason,
                Degraded = _degraded,
                TrafficFraction = TrafficFraction(),
                RateLimitedUntil = rateLimitedUntil,
            },
        };
    }

    private double TrafficFraction()
    {
        if (_state != BreakerState.Closed)
        {
            return 0;
        }

        if (_rampStart is null)
        {
            return 1;
        }

        // Progress is healthy time, not wall time: it moves only at evaluations that found the window healthy.
        var climbed = _rampHealthy - _options.RampObservation;
        if (climbed <= TimeSpan.Zero)
        {
            return _options.RampStartFraction;
        }

        if (climbed >= _options.RampDuration)
        {
            return 1;
        }

        var progress = climbed / _options.RampDuration;
        return _options.RampStartFraction + ((1 - _options.RampStartFraction) * progress);
    }

    private BreakerState PublishedState() => _override?.Kind switch
    {
        OverrideKind.ForceOpen or OverrideKind.Drain => BreakerState.Open,
        OverrideKind.ForceClosed => BreakerState.Closed,
        _ => _state,
    };

    private BreakerReason PublishedReason() => _override is null ? _reason : BreakerReason.Forced;

    private void Emit(BreakerEventKind kind, BreakerState from, DateTimeOffset at, string detail) =>
        _events.Add(new BreakerEvent(kind, from, PublishedState(), PublishedReason(), at, detail));

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
