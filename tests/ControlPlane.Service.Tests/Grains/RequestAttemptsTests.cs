using ControlPlane.Domain.Endpoints;
using ControlPlane.Domain.Health;
using ControlPlane.Domain.Slo;
using ControlPlane.Service.Grains;

namespace ControlPlane.Service.Tests.Grains;

/// <summary>The class grain's request correlation and duplicate memory on their own: bounded, time-windowed.</summary>
public sealed class RequestAttemptsTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void A_failed_attempt_waits_for_the_grace_then_counts_once_as_a_failure_at_its_own_time()
    {
        var slo = NewSlo();
        var attempts = new RequestAttempts(TimeSpan.FromMinutes(2));

        attempts.Record(slo, Attempt(7, OutcomeStatus.ServerError, T0), available: false, T0);
        attempts.Record(slo, Attempt(7, OutcomeStatus.Timeout, T0.AddSeconds(30)), available: false, T0.AddSeconds(30));
        Assert.Equal((0L, 1), (slo.Budget(SloKind.Availability, T0.AddMinutes(1)).Events, attempts.Held));

        attempts.Expire(slo, T0.AddMinutes(2));

        var budget = slo.Budget(SloKind.Availability, T0.AddMinutes(2));
        Assert.Equal((1L, 1L, 0), (budget.Events, budget.BadEvents, attempts.Held));
        Assert.Equal(1.0, slo.BurnRate(SloKind.Availability, T0.AddMinutes(2), TimeSpan.FromMinutes(5)) * (1 - 0.99), 3);
        // A late success of the same request changes nothing: it was counted.
        attempts.Record(slo, Attempt(7, OutcomeStatus.Success, T0.AddMinutes(3)), available: true, T0.AddMinutes(3));
        Assert.Equal(1L, slo.Budget(SloKind.Availability, T0.AddMinutes(3)).Events);
        Assert.Equal(0, attempts.ServedByFallback);
    }

    [Fact]
    public void Held_requests_are_bounded_the_oldest_counts_as_failed_when_the_bound_is_reached()
    {
        var slo = NewSlo();
        var attempts = new RequestAttempts(TimeSpan.FromMinutes(2), capacity: 3);

        for (var key = 1; key <= 5; key++)
        {
            attempts.Record(slo, Attempt(key, OutcomeStatus.ServerError, T0), available: false, T0);
        }

        Assert.Equal(3, attempts.Held);
        var budget = slo.Budget(SloKind.Availability, T0);
        Assert.Equal((2L, 2L), (budget.Events, budget.BadEvents));
        // The newest held request still recovers.
        attempts.Record(slo, Attempt(5, OutcomeStatus.Success, T0), available: true, T0);
        Assert.Equal((3L, 2L, 1L), (slo.Budget(SloKind.Availability, T0).Events, slo.Budget(SloKind.Availability, T0).BadEvents, attempts.ServedByFallback));
    }

    [Fact]
    public void Outcomes_without_a_request_key_count_one_per_attempt()
    {
        var slo = NewSlo();
        var attempts = new RequestAttempts(TimeSpan.FromMinutes(2));

        attempts.Record(slo, Attempt(0, OutcomeStatus.ServerError, T0), available: false, T0);
        attempts.Record(slo, Attempt(0, OutcomeStatus.Success, T0), available: true, T0);

        Assert.Equal((2L, 1L), (slo.Budget(SloKind.Availability, T0).Events, slo.Budget(SloKind.Availability, T0).BadEvents));
    }

    [Fact]
    public void The_duplicate_memory_forgets_after_its_window_and_beyond_its_capacity()
    {
        var seen = new SeenDecisions(TimeSpan.FromMinutes(10), capacity: 2);

        Assert.True(seen.TryAdd(1, T0));
        Assert.False(seen.TryAdd(1, T0.AddMinutes(9)));
        Assert.True(seen.TryAdd(0, T0));
        Assert.True(seen.TryAdd(0, T0));
        Assert.True(seen.TryAdd(2, T0));
        Assert.True(seen.TryAdd(3, T0));
        Assert.Equal(2, seen.Count);
        Assert.True(seen.TryAdd(1, T0), "the oldest was forgotten at capacity");
        Assert.True(seen.TryAdd(3, T0.AddMinutes(10)) && seen.Count <= 2);
    }

    private static WorkloadSlo NewSlo() => new("c", new SloOptions { AvailabilityTarget = 0.99 });

    private static OutcomeRecord Attempt(long requestKey, OutcomeStatus status, DateTimeOffset at) =>
        new("e", "c", new OutcomeSample { At = at, Status = status, Latency = TimeSpan.FromMilliseconds(100) }, Fallback: false, RequestKey: requestKey);
}
