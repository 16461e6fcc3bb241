using ControlPlane.Domain.Baselines;
using ControlPlane.Domain.Breakers;
using ControlPlane.Domain.Endpoints;
using ControlPlane.Domain.Health;
using Microsoft.Extensions.Time.Testing;
using ControlPlane.Domain.Tests.Health;
using static ControlPlane.Domain.Tests.Health.Samples;

namespace ControlPlane.Domain.Tests.Breakers;

public sealed class EndpointBreakerTests
{
    private readonly FakeTimeProvider _time = new();
    private readonly EndpointBreaker _breaker = new(new BreakerOptions());

    private DateTimeOffset Now => _time.GetUtcNow();

    private static readonly BaselineValues Baseline = new() { LatencyP95 = TimeSpan.FromMilliseconds(100), QualityPassRate = 0.9 };

    private void Fail(int count, OutcomeStatus status = OutcomeStatus.ServerError)
    {
        for (var i = 0; i < count; i++)
        {
            _breaker.OnOutcome(Samples.Fail(Now, status));
        }
    }

    private void TripByFailures()
    {
        Fail(5);
        Assert.Equal(BreakerState.Open, _breaker.Current(Now).State);
    }

    private void HalfOpenAndProbe(int successes)
    {
        _time.Advance(_breaker.OpenUntil!.Value - Now);
        for (var i = 0; i < successes; i++)
        {
            Assert.True(_breaker.TryAcquireProbe(Now));
            _breaker.OnOutcome(Ok(Now));
        }
    }

    // One evaluation every 10 s, as the endpoint grain runs them, each judging the same window.
    private void EvaluateFor(TimeSpan duration, HealthSnapshot window)
    {
        var end = Now + duration;
        while (Now < end)
        {
            _time.Advance(TimeSpan.FromSeconds(10));
            _breaker.Evaluate(Now, window, Baseline);
        }
    }

    private static HealthSnapshot Window(long requests = 100, long failures = 0, double p95Ms = 100, long pass = 0, long fail = 0) => new()
    {
        Requests = requests,
        Successes = requests - failures,
        ServerErrors = failures,
        LatencySamples = requests - failures,
        LatencyP95 = TimeSpan.FromMilliseconds(p95Ms),
        QualityPasses = pass,
        QualityFailures = fail,
    };

    [Fact]
    public void Starts_closed_at_full_traffic()
    {
        Assert.Equal(EndpointHealthView.Healthy, _breaker.Current(Now));
        Assert.Empty(_breaker.DrainEvents());
    }

    [Fact]
    public void Five_consecutive_failures_open_it_and_four_do_not()
    {
        Fail(4);
        Assert.Equal(BreakerState.Closed, _breaker.Current(Now).State);
        Fail(1, OutcomeStatus.Timeout);
        var view = _breaker.Current(Now);
        Assert.Equal((BreakerState.Open, BreakerReason.ConsecutiveFailures, 0.0), (view.State, view.Reason, view.TrafficFraction));

        var e = Assert.Single(_breaker.DrainEvents());
        Assert.Equal((BreakerEventKind.StateChanged, BreakerState.Closed, BreakerState.Open, BreakerReason.ConsecutiveFailures, Now),
            (e.Kind, e.From, e.To, e.Reason, e.At));
        Assert.Contains("5 consecutive failures, last Timeout", e.Detail, StringComparison.Ordinal);
        Assert.Contains("cooldown 00:01:00", e.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void A_success_or_caller_error_resets_the_run_but_429_and_content_filter_do_not_count_as_failures()
    {
        Fail(4);
        _breaker.OnOutcome(Ok(Now));
        Fail(4);
        _breaker.OnOutcome(Samples.Fail(Now, OutcomeStatus.ClientError));
        Fail(4);
        _breaker.OnOutcome(RateLimited(Now, null));
        _breaker.OnOutcome(Samples.Fail(Now, OutcomeStatus.ContentFilter));
        Fail(4);
        Assert.Equal(BreakerState.Closed, _breaker.Current(Now).State);
        Fail(1);
        Assert.Equal(BreakerState.Open, _breaker.Current(Now).State);
    }

    [Fact]
    public void Error_rate_above_five_percent_with_enough_requests_opens_it()
    {
        _breaker.Evaluate(Now, Window(requests: 100, failures: 5), Baseline);
        Assert.Equal(BreakerState.Closed, _breaker.Current(Now).State); // exactly 5 % is not above
        _breaker.Evaluate(Now, Window(requests: 19, failures: 10), Baseline);
        Assert.Equal(BreakerState.Closed, _breaker.Current(Now).State); // below the minimum count
        _breaker.Evaluate(Now, Window(requests: 100, failures: 6), Baseline);
        var view = _breaker.Current(Now);
        Assert.Equal((BreakerState.Open, BreakerReason.ErrorRate), (view.State, view.Reason));
        Assert.Contains("error rate 6.00 %", _breaker.DrainEvents()[0].Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Error_rate_ignores_429s_in_its_denominator()
    {
        var window = Window(requests: 20, failures: 1) with { RateLimited = 10, Successes = 9, LatencySamples = 9 };
        _breaker.Evaluate(Now, window, Baseline); // 1 failure of 10 served, but fewer than 20 served
        Assert.Equal(BreakerState.Closed, _breaker.Current(Now).State);
        _breaker.Evaluate(Now, window with { Requests = 40, Successes = 29 }, Baseline); // 1 of 30 served = 3.3 %
        Assert.Equal(BreakerState.Closed, _breaker.Current(Now).State);
    }

    [Fact]
    public void Half_open_exactly_at_the_cooldown_not_a_millisecond_before()
    {
        TripByFailures();
        var trippedAt = Now;
        _time.Advance(TimeSpan.FromSeconds(60) - TimeSpan.FromMilliseconds(1));
        Assert.Equal(BreakerState.Open, _breaker.Current(Now).State);
        Assert.False(_breaker.TryAcquireProbe(Now));

        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(BreakerState.HalfOpen, _breaker.Current(Now).State);
        var e = _breaker.DrainEvents()[^1];
        Assert.Equal((BreakerState.Open, BreakerState.HalfOpen, trippedAt.AddSeconds(60)), (e.From, e.To, e.At));
    }

    [Fact]
    public void The_transition_is_stamped_with_its_due_time_even_when_observed_later()
    {
        TripByFailures();
        var due = _breaker.OpenUntil!.Value;
        _time.Advance(TimeSpan.FromMinutes(7));
        _breaker.Current(Now);
        Assert.Equal(due, _breaker.DrainEvents()[^1].At);
    }

    [Fact]
    public void Half_open_admits_a_bounded_number_of_probes()
    {
        Assert.False(_breaker.TryAcquireProbe(Now)); // closed: nothing to probe
        TripByFailures();
        _time.Advance(TimeSpan.FromSeconds(60));
        Assert.True(_breaker.TryAcquireProbe(Now));
        Assert.True(_breaker.TryAcquireProbe(Now));
        Assert.True(_breaker.TryAcquireProbe(Now));
        Assert.False(_breaker.TryAcquireProbe(Now));
        Assert.Equal(0, _breaker.Current(Now).TrafficFraction);
    }

    [Fact]
    public void Unanswered_probes_are_given_up_after_the_probe_timeout()
    {
        TripByFailures();
        _time.Advance(TimeSpan.FromSeconds(60));
        for (var i = 0; i < 3; i++)
        {
            Assert.True(_breaker.TryAcquireProbe(Now));
        }

        _time.Advance(TimeSpan.FromSeconds(30) - TimeSpan.FromMilliseconds(1));
        Assert.False(_breaker.TryAcquireProbe(Now));
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(_breaker.TryAcquireProbe(Now));
    }

    [Fact]
    public void A_successful_probe_set_closes_it_with_a_gradual_ramp()
    {
        TripByFailures();
        HalfOpenAndProbe(2);
        Assert.Equal(BreakerState.HalfOpen, _breaker.Current(Now).State);
        _breaker.OnOutcome(Ok(Now));
        var closedAt = Now;

        var view = _breaker.Current(Now);
        Assert.Equal((BreakerState.Closed, BreakerReason.None), (view.State, view.Reason));
        Assert.Equal(0.1, view.TrafficFraction, 12);

        // Healthy periods (no errors since closing): 10 minutes at the start fraction, then a 2-minute climb.
        EvaluateFor(TimeSpan.FromMinutes(10), Window(failures: 0));
        Assert.Equal(0.1, _breaker.Current(Now).TrafficFraction, 12);
        EvaluateFor(TimeSpan.FromMinutes(1), Window(failures: 0));
        Assert.Equal(0.55, _breaker.Current(Now).TrafficFraction, 12);
        EvaluateFor(TimeSpan.FromMinutes(1) - TimeSpan.FromSeconds(10), Window(failures: 0));
        Assert.True(_breaker.Current(Now).TrafficFraction < 1);
        EvaluateFor(TimeSpan.FromSeconds(10), Window(failures: 0));
        Assert.Equal(1.0, _breaker.Current(Now).TrafficFraction);
        Assert.Equal(TimeSpan.Zero, _breaker.RampHealthyTime);

        var close = _breaker.DrainEvents().Single(e => e.To == BreakerState.Closed);
        Assert.Equal((BreakerState.HalfOpen, closedAt), (close.From, close.At));
    }

    [Fact]
    public void The_ramp_moves_only_at_evaluations_not_with_wall_time()
    {
        TripByFailures();
        HalfOpenAndProbe(3);
        _time.Advance(TimeSpan.FromHours(1));
        Assert.Equal(0.1, _breaker.Current(Now).TrafficFraction, 12);

        // The next healthy evaluation counts the whole gap since closing (nothing said otherwise meanwhile).
        _breaker.Evaluate(Now, Window(failures: 0), Baseline);
        Assert.Equal(1.0, _breaker.Current(Now).TrafficFraction);
    }

    [Fact]
    public void The_ramp_holds_while_errors_since_closing_are_at_or_above_one_percent_and_resumes_under_it()
    {
        TripByFailures();
        HalfOpenAndProbe(3);
        EvaluateFor(TimeSpan.FromMinutes(11), Window(failures: 0));
        Assert.Equal(0.55, _breaker.Current(Now).TrafficFraction, 12);

        // Exactly 1 % (2 of 200) is not under 1 %; 4 % holds too without reaching the 5 % trip threshold.
        EvaluateFor(TimeSpan.FromMinutes(5), Window(requests: 200, failures: 2));
        Assert.Equal(0.55, _breaker.Current(Now).TrafficFraction, 12);
        EvaluateFor(TimeSpan.FromMinutes(5), Window(requests: 200, failures: 8));
        var held = _breaker.Current(Now);
        Assert.Equal((BreakerState.Closed, 0.55), (held.State, Math.Round(held.TrafficFraction, 12)));
        Assert.Equal(TimeSpan.FromMinutes(11), _breaker.RampHealthyTime);

        // 0.5 % is under it: the climb resumes where it stopped.
        EvaluateFor(TimeSpan.FromSeconds(30), Window(requests: 200, failures: 1));
        Assert.Equal(0.775, _breaker.Current(Now).TrafficFraction, 12);

        // Above the error-rate threshold the breaker's own signal re-opens it; the ramp starts over next time.
        _breaker.Evaluate(Now, Window(requests: 200, failures: 12), Baseline);
        Assert.Equal((BreakerState.Open, 0.0), (_breaker.Current(Now).State, _breaker.Current(Now).TrafficFraction));
        Assert.Equal(TimeSpan.Zero, _breaker.RampHealthyTime);
        HalfOpenAndProbe(3);
        Assert.Equal(0.1, _breaker.Current(Now).TrafficFraction, 12);
    }

    [Fact]
    public void The_ramp_threshold_and_observation_are_options()
    {
        var breaker = new EndpointBreaker(new BreakerOptions
        {
            RampObservation = TimeSpan.Zero,
            RampDuration = TimeSpan.FromMinutes(1),
            RampMaxErrorRate = 0.05,
        });
        for (var i = 0; i < 5; i++)
        {
            breaker.OnOutcome(Samples.Fail(Now));
        }

        _time.Advance(breaker.OpenUntil!.Value - Now);
        for (var i = 0; i < 3; i++)
        {
            Assert.True(breaker.TryAcquireProbe(Now));
            breaker.OnOutcome(Ok(Now));
        }

        _time.Advance(TimeSpan.FromSeconds(30));
        breaker.Evaluate(Now, Window(requests: 100, failures: 3), Baseline); // 3 % is under this ramp's 5 %
        Assert.Equal(0.55, breaker.Current(Now).TrafficFraction, 12);
    }

    [Fact]
    public void Export_and_restore_keep_the_ramp_progress()
    {
        TripByFailures();
        HalfOpenAndProbe(3);
        EvaluateFor(TimeSpan.FromMinutes(11), Window(failures: 0));
        var restored = EndpointBreaker.Restore(new BreakerOptions(), _breaker.Export());
        Assert.Equal(_breaker.Export(), restored.Export());
        Assert.Equal(0.55, restored.Current(Now).TrafficFraction, 12);
        _time.Advance(TimeSpan.FromSeconds(30));
        restored.Evaluate(Now, Window(failures: 0), Baseline);
        Assert.Equal(0.775, restored.Current(Now).TrafficFraction, 12);
    }

    [Fact]
    public void A_failed_probe_reopens_it_with_a_longer_cooldown()
    {
        TripByFailures();
        _time.Advance(TimeSpan.FromSeconds(60));
        Assert.True(_breaker.TryAcquireProbe(Now));
        _breaker.OnOutcome(Samples.Fail(Now, OutcomeStatus.ConnectionError));

        var view = _breaker.Current(Now);
        Assert.Equal((BreakerState.Open, BreakerReason.ProbeFailed), (view.State, view.Reason));
        Assert.Equal(Now.AddMinutes(2), _breaker.OpenUntil);
        var e = _breaker.DrainEvents()[^1];
        Assert.Equal((BreakerState.HalfOpen, BreakerState.Open, BreakerReason.ProbeFailed), (e.From, e.To, e.Reason));
    }

    [Fact]
    public void Cooldown_doubles_per_trip_up_to_the_cap()
    {
        Assert.Equal(
            new[] { 1, 2, 4, 8, 10, 10 }.Select(m => TimeSpan.FromMinutes(m)),
            Enumerable.Range(1, 6).Select(_breaker.CooldownFor));

        TripByFailures();
        for (var trip = 2; trip <= 6; trip++)
        {
            _time.Advance(_breaker.OpenUntil!.Value - Now);
            Assert.True(_breaker.TryAcquireProbe(Now));
            _breaker.OnOutcome(Samples.Fail(Now));
            Assert.Equal(Now + _breaker.CooldownFor(trip), _breaker.OpenUntil);
        }

        Assert.Equal(Now.AddMinutes(10), _breaker.OpenUntil);
    }

    [Fact]
    public void Cooldown_resets_after_a_healthy_period()
    {
        TripByFailures();
        HalfOpenAndProbe(3);
        _time.Advance(TimeSpan.FromMinutes(10) - TimeSpan.FromMilliseconds(1));
        TripByFailures();
        Assert.Equal(Now.AddMinutes(2), _breaker.OpenUntil); // second trip within the healthy period

        HalfOpenAndProbe(3);
        _time.Advance(TimeSpan.FromMinutes(10));
        TripByFailures();
        Assert.Equal(Now.AddMinutes(1), _breaker.OpenUntil);
        Assert.Equal(1, _breaker.Trips);
    }

    [Fact]
    public void Outcomes_from_before_the_current_state_are_ignored()
    {
        var before = Now;
        _time.Advance(TimeSpan.FromSeconds(1));
        TripByFailures();
        _time.Advance(TimeSpan.FromSeconds(60));
        _breaker.TryAcquireProbe(Now);
        _breaker.OnOutcome(Samples.Fail(before)); // a late report from before the trip
        Assert.Equal(BreakerState.HalfOpen, _breaker.Current(Now).State);
    }

    [Fact]
    public void p95_over_3x_baseline_for_3_periods_marks_it_degraded_and_3_periods_under_clear_it()
    {
        _breaker.Evaluate(Now, Window(p95Ms: 310), Baseline);
        _breaker.Evaluate(Now, Window(p95Ms: 310), Baseline);
        _breaker.Evaluate(Now, Window(p95Ms: 290), Baseline); // the run breaks
        _breaker.Evaluate(Now, Window(p95Ms: 310), Baseline);
        _breaker.Evaluate(Now, Window(p95Ms: 310), Baseline);
        Assert.False(_breaker.Current(Now).Degraded);
        _breaker.Evaluate(Now, Window(p95Ms: 400), Baseline);
        var view = _breaker.Current(Now);
        Assert.True(view.Degraded);
        Assert.Equal((BreakerState.Closed, 1.0), (view.State, view.TrafficFraction));
        var e = Assert.Single(_breaker.DrainEvents());
        Assert.Equal(BreakerEventKind.Degraded, e.Kind);
        Assert.Contains("4.00x baseline", e.Detail, StringComparison.Ordinal);

        _breaker.Evaluate(Now, Window(p95Ms: 100), Baseline);
        _breaker.Evaluate(Now, Window(p95Ms: 100), Baseline);
        Assert.True(_breaker.Current(Now).Degraded);
        _breaker.Evaluate(Now, Window(p95Ms: 100), Baseline);
        Assert.False(_breaker.Current(Now).Degraded);
        Assert.Equal(BreakerEventKind.DegradationCleared, Assert.Single(_breaker.DrainEvents()).Kind);
    }

    [Fact]
    public void p95_over_5x_baseline_for_3_periods_opens_it_for_latency()
    {
        _breaker.Evaluate(Now, Window(p95Ms: 510), Baseline);
        _breaker.Evaluate(Now, Window(p95Ms: 510), Baseline);
        Assert.Equal(BreakerState.Closed, _breaker.Current(Now).State);
        _breaker.Evaluate(Now, Window(p95Ms: 510), Baseline);
        var view = _breaker.Current(Now);
        Assert.Equal((BreakerState.Open, BreakerReason.Latency), (view.State, view.Reason));
    }

    [Fact]
    public void Latency_needs_a_baseline_and_enough_samples()
    {
        for (var i = 0; i < 5; i++)
        {
            _breaker.Evaluate(Now, Window(p95Ms: 5000), BaselineValues.None);
            _breaker.Evaluate(Now, Window(requests: 19, p95Ms: 5000), Baseline);
        }

        Assert.Equal(EndpointHealthView.Healthy, _breaker.Current(Now));
    }

    [Fact]
    public void Quality_more_than_15_percent_below_baseline_opens_it()
    {
        _breaker.Evaluate(Now, Window(pass: 77, fail: 23), Baseline); // 0.77 >= 0.765
        Assert.Equal(BreakerState.Closed, _breaker.Current(Now).State);
        _breaker.Evaluate(Now, Window(pass: 30, fail: 19), Baseline); // too few verdicts
        Assert.Equal(BreakerState.Closed, _breaker.Current(Now).State);
        _breaker.Evaluate(Now, Window(pass: 76, fail: 24), Baseline);
        var view = _breaker.Current(Now);
        Assert.Equal((BreakerState.Open, BreakerReason.Quality), (view.State, view.Reason));
    }

    [Fact]
    public void Opened_for_quality_a_probe_that_fails_its_grading_reopens_it_and_passing_probes_close_it()
    {
        _breaker.Evaluate(Now, Window(pass: 30, fail: 70), Baseline);
        Assert.Equal(BreakerReason.Quality, _breaker.Current(Now).Reason);
        _time.Advance(_breaker.OpenUntil!.Value - Now);
        Assert.Equal(BreakerState.HalfOpen, _breaker.Current(Now).State);
        _breaker.DrainEvents();

        // An HTTP 200 with a wrong answer is not a recovery from a drift.
        Assert.True(_breaker.TryAcquireProbe(Now));
        _breaker.OnOutcome(Ok(Now, 100) with { Quality = QualityVerdict.Fail }, Baseline);
        var view = _breaker.Current(Now);
        Assert.Equal((BreakerState.Open, BreakerReason.Quality), (view.State, view.Reason));
        Assert.Equal(2, _breaker.Trips);
        Assert.Contains("failed its quality check", Assert.Single(_breaker.DrainEvents()).Detail, StringComparison.Ordinal);

        // Graded passes (and ungraded answers) close it.
        _time.Advance(_breaker.OpenUntil!.Value - Now);
        foreach (var verdict in new[] { QualityVerdict.Pass, QualityVerdict.None, QualityVerdict.Pass })
        {
            Assert.True(_breaker.TryAcquireProbe(Now));
            _breaker.OnOutcome(Ok(Now, 100) with { Quality = verdict }, Baseline);
        }

        Assert.Equal(BreakerState.Closed, _breaker.Current(Now).State);
    }

    [Fact]
    public void Opened_for_errors_a_probe_with_a_failing_grade_still_counts_as_an_answer()
    {
        TripByFailures();
        _time.Advance(_breaker.OpenUntil!.Value - Now);
        for (var i = 0; i < 3; i++)
        {
            Assert.True(_breaker.TryAcquireProbe(Now));
            _breaker.OnOutcome(Ok(Now, 100) with { Quality = i == 0 ? QualityVerdict.Fail : QualityVerdict.Pass }, Baseline);
        }

        Assert.Equal(BreakerState.Closed, _breaker.Current(Now).State);
    }

    [Fact]
    public void A_429_with_retry_after_cools_the_endpoint_for_exactly_that_long()
    {
        _breaker.OnOutcome(RateLimited(Now, TimeSpan.FromSeconds(30)));
        var until = Now.AddSeconds(30);
        _time.Advance(TimeSpan.FromSeconds(30) - TimeSpan.FromMilliseconds(1));
        var view = _breaker.Current(Now);
        Assert.Equal((BreakerState.Closed, BreakerReason.None, until), (view.State, view.Reason, view.RateLimitedUntil));
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Null(_breaker.Current(Now).RateLimitedUntil);

        var e = Assert.Single(_breaker.DrainEvents());
        Assert.Equal((BreakerEventKind.RateLimited, BreakerState.Closed, BreakerState.Closed), (e.Kind, e.From, e.To));
    }

    [Fact]
    public void A_429_storm_extends_the_cooling_with_one_event_and_never_opens()
    {
        for (var i = 0; i < 100; i++)
        {
            _breaker.OnOutcome(RateLimited(Now, TimeSpan.FromSeconds(20)));
            _time.Advance(TimeSpan.FromMilliseconds(100));
        }

        var view = _breaker.Current(Now);
        Assert.Equal(BreakerState.Closed, view.State);
        Assert.Equal(Now.AddMilliseconds(-100).AddSeconds(20), view.RateLimitedUntil);
        Assert.Single(_breaker.DrainEvents());
    }

    [Fact]
    public void A_429_without_retry_after_uses_the_default_and_huge_values_are_capped()
    {
        _breaker.OnOutcome(RateLimited(Now, null));
        Assert.Equal(Now.AddSeconds(1), _breaker.Current(Now).RateLimitedUntil);
        _breaker.OnOutcome(RateLimited(Now, TimeSpan.FromHours(3)));
        Assert.Equal(Now.AddMinutes(5), _breaker.Current(Now).RateLimitedUntil);
    }

    [Fact]
    public void ForceOpen_wins_over_a_healthy_breaker_until_it_expires()
    {
        var o = new AdminOverride(OverrideKind.ForceOpen, "alice", "provider incident", Now, Now.AddMinutes(5));
        _breaker.SetOverride(o, Now);
        var view = _breaker.Current(Now);
        Assert.Equal((BreakerState.Open, BreakerReason.Forced, 0.0, o), (view.State, view.Reason, view.TrafficFraction, view.Override));
        var set = Assert.Single(_breaker.DrainEvents());
        Assert.Equal((BreakerEventKind.OverrideSet, BreakerState.Closed, BreakerState.Open, BreakerReason.Forced), (set.Kind, set.From, set.To, set.Reason));
        Assert.Contains("ForceOpen by alice", set.Detail, StringComparison.Ordinal);
        Assert.Contains("provider incident", set.Detail, StringComparison.Ordinal);

        _time.Advance(TimeSpan.FromMinutes(5) - TimeSpan.FromMilliseconds(1));
        Assert.Equal(BreakerState.Open, _breaker.Current(Now).State);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(EndpointHealthView.Healthy, _breaker.Current(Now));
        var expired = Assert.Single(_breaker.DrainEvents());
        Assert.Equal((BreakerEventKind.OverrideExpired, BreakerState.Open, BreakerState.Closed, Now), (expired.Kind, expired.From, expired.To, expired.At));
    }

    [Fact]
    public void ForceClosed_wins_over_an_open_breaker_until_cleared()
    {
        TripByFailures();
        _breaker.SetOverride(new AdminOverride(OverrideKind.ForceClosed, "bob", "false positive", Now, null), Now);
        var view = _breaker.Current(Now);
        Assert.Equal((BreakerState.Closed, BreakerReason.Forced, 1.0), (view.State, view.Reason, view.TrafficFraction));
        Assert.False(_breaker.TryAcquireProbe(Now));

        Assert.True(_breaker.ClearOverride("bob", Now));
        Assert.False(_breaker.ClearOverride("bob", Now));
        Assert.Equal(BreakerState.Open, _breaker.Current(Now).State);
        var cleared = _breaker.DrainEvents()[^1];
        Assert.Equal((BreakerEventKind.OverrideCleared, BreakerState.Closed, BreakerState.Open, BreakerReason.ConsecutiveFailures), (cleared.Kind, cleared.From, cleared.To, cleared.Reason));
    }

    [Fact]
    public void Drain_takes_the_endpoint_out_of_rotation()
    {
        _breaker.SetOverride(new AdminOverride(OverrideKind.Drain, "ops", "maintenance", Now, null), Now);
        var view = _breaker.Current(Now);
        Assert.Equal((BreakerState.Open, 0.0, OverrideKind.Drain), (view.State, view.TrafficFraction, view.Override!.Kind));
    }

    [Fact]
    public void An_already_expired_override_is_refused()
    {
        var o = new AdminOverride(OverrideKind.ForceOpen, "alice", "late", Now.AddMinutes(-2), Now.AddMinutes(-1));
        Assert.Throws<ArgumentException>(() => _breaker.SetOverride(o, Now));
    }

    [Fact]
    public void Export_and_restore_keep_state_and_timers()
    {
        TripByFailures();
        _breaker.OnOutcome(RateLimited(Now, TimeSpan.FromSeconds(90)));
        var restored = EndpointBreaker.Restore(new BreakerOptions(), _breaker.Export());
        Assert.Equal(_breaker.Export(), restored.Export());
        Assert.Equal(_breaker.Current(Now), restored.Current(Now));
        _time.Advance(TimeSpan.FromSeconds(60));
        Assert.Equal(BreakerState.HalfOpen, restored.Current(Now).State);
    }

    [Fact]
    public void Default_options_are_valid()
    {
        var o = new BreakerOptions().Validate();
        Assert.Equal((5, 0.05, 3.0, 5.0, 0.15), (o.ConsecutiveFailures, o.ErrorRateThreshold, o.DegradedLatencyFactor, o.OpenLatencyFactor, o.QualityDropFraction));
        Assert.Equal((TimeSpan.FromSeconds(60), 2.0, TimeSpan.FromMinutes(10)), (o.Cooldown, o.CooldownMultiplier, o.MaxCooldown));
        Assert.Equal((3, TimeSpan.FromSeconds(30)), (o.HalfOpenProbes, o.ProbeTimeout));
        Assert.Equal((0.1, TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(2), 0.01),
            (o.RampStartFraction, o.RampObservation, o.RampDuration, o.RampMaxErrorRate));
    }

    public static TheoryData<Action<BreakerOptions>, string> InvalidOptions => new()
    {
        { o => o.ConsecutiveFailures = 0, "BreakerOptions.ConsecutiveFailures" },
        { o => o.ErrorRateThreshold = 1.5, "BreakerOptions.ErrorRateThreshold" },
        { o => o.DegradedLatencyFactor = 1.0, "BreakerOptions.DegradedLatencyFactor" },
        { o => o.OpenLatencyFactor = 2.0, "BreakerOptions.OpenLatencyFactor" },
        { o => o.QualityDropFraction = 0, "BreakerOptions.QualityDropFraction" },
        { o => o.Cooldown = TimeSpan.FromMilliseconds(10), "BreakerOptions.Cooldown" },
        { o => o.MaxCooldown = TimeSpan.FromSeconds(30), "BreakerOptions.MaxCooldown" },
        { o => o.CooldownMultiplier = 0.5, "BreakerOptions.CooldownMultiplier" },
        { o => o.HalfOpenProbes = 0, "BreakerOptions.HalfOpenProbes" },
        { o => o.RampStartFraction = 1, "BreakerOptions.RampStartFraction" },
        { o => o.RampDuration = TimeSpan.FromSeconds(-1), "BreakerOptions.RampDuration" },
        { o => o.RampObservation = TimeSpan.FromSeconds(-1), "BreakerOptions.RampObservation" },
        { o => o.RampMaxErrorRate = 0, "BreakerOptions.RampMaxErrorRate" },
        { o => o.RampMaxErrorRate = 1, "BreakerOptions.RampMaxErrorRate" },
        { o => o.MaxRetryAfter = TimeSpan.Zero, "BreakerOptions.MaxRetryAfter" },
    };

    [Theory]
    [MemberData(nameof(InvalidOptions))]
    public void Invalid_options_name_the_option(Action<BreakerOptions> change, string option)
    {
        var o = new BreakerOptions();
        change(o);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new EndpointBreaker(o));
        Assert.Contains(option, e.Message, StringComparison.Ordinal);
    }
}
