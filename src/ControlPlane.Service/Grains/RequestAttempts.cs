using ControlPlane.Domain.Slo;

namespace ControlPlane.Service.Grains;

/// <summary>
/// Turns attempt outcomes into request outcomes for a class's SLO: availability counts requests, not attempts. An
/// outcome that carries a request key (from its decision id, or the outcome's own <c>request_id</c>) is one attempt
/// of that request. A failed attempt (an endpoint failure or a 429) is held for <see cref="Grace"/>: if a later
/// attempt of the same request succeeds, the request is recorded once, as a success "served by fallback"
/// (<see cref="ServedByFallback"/>); if none does before the grace ends, it is recorded once, as a failure, at the
/// time of its first failed attempt. Once resolved, a request's late attempts (for example an earlier attempt's
/// outcome flushed late by another node) are ignored for another grace period. Outcomes without a request key are
/// recorded as they come, one per attempt. Bounded: at most <see cref="Capacity"/> requests are held; beyond that the
/// oldest is resolved as a failure at once. Not thread-safe (a grain turn).
/// </summary>
internal sealed class RequestAttempts
{
    /// <summary>Requests held at most.</summary>
    internal const int DefaultCapacity = 100_000;

    private readonly Dictionary<long, HeldAttempt> _held = [];
    private readonly Queue<(long Key, long Serial)> _order = new();
    private readonly SeenDecisions _resolved;
    private long _serial;

    public RequestAttempts(TimeSpan grace, int capacity = DefaultCapacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(grace, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        Grace = grace;
        Capacity = capacity;
        _resolved = new SeenDecisions(grace, capacity);
    }

    /// <summary>How long a failed attempt waits for a later attempt of its request to succeed.</summary>
    public TimeSpan Grace { get; }

    /// <summary>Requests held at most.</summary>
    public int Capacity { get; }

    /// <summary>Requests whose failed attempt is waiting.</summary>
    public int Held => _held.Count;

    /// <summary>Requests that succeeded after an earlier attempt failed (since the activation started).</summary>
    public long ServedByFallback { get; private set; }

    /// <summary>Folds one attempt in: records into <paramref name="slo"/> what is decided now.</summary>
    public void Record(WorkloadSlo slo, OutcomeRecord outcome, bool available, DateTimeOffset now)
    {
        Expire(slo, now);
        var sample = outcome.Sample;
        var key = outcome.RequestKey;
        if (key == 0)
        {
            slo.Record(sample.At, available, sample.Quality, outcome.Fallback, LatencyOf(sample));
            return;
        }

        if (_held.TryGetValue(key, out var held))
        {
            if (available)
            {
                _held.Remove(key);
                _resolved.TryAdd(key, now);
                ServedByFallback++;
                slo.Record(sample.At, available: true, sample.Quality, outcome.Fallback, LatencyOf(sample));
            }

            // Another failed attempt of a held request: still one request, still waiting.
            return;
        }

        if (_resolved.Contains(key, now))
        {
            // The request is already counted: a late attempt changes nothing.
            return;
        }

        if (available)
        {
            _resolved.TryAdd(key, now);
            slo.Record(sample.At, available: true, sample.Quality, outcome.Fallback, LatencyOf(sample));
            return;
        }

        while (_held.Count >= Capacity && _order.TryDequeue(out var oldest))
        {
            Resolve(slo, oldest.Key, oldest.Serial, now);
        }

        var serial = ++_serial;
        _held[key] = new HeldAttempt(sample.At, now + Grace, sample.Quality, outcome.Fallback, serial);
        _order.Enqueue((key, serial));
    }

    /// <summary>Records as failures the held requests whose grace has ended by <paramref name="now"/>.</summary>
    public void Expire(WorkloadSlo slo, DateTimeOffset now)
    {
        while (_order.TryPeek(out var next))
        {
            if (_held.TryGetValue(next.Key, out var held) && held.Serial == next.Serial && held.Until > now)
            {
                return;
            }

            _order.Dequeue();
            Resolve(slo, next.Key, next.Serial, now);
        }
    }

    private void Resolve(WorkloadSlo slo, long key, long serial, DateTimeOffset now)
    {
        if (_held.TryGetValue(key, out var held) && held.Serial == serial)
        {
            _held.Remove(key);
            _resolved.TryAdd(key, now);
            slo.Record(held.At, available: false, held.Quality, held.Fallback);
        }
    }

    // The latency SLO counts served requests: the successful attempt's latency (none when it was not reported).
    private static TimeSpan? LatencyOf(in Domain.Health.OutcomeSample sample) =>
        sample.Status == Domain.Endpoints.OutcomeStatus.Success && sample.Latency > TimeSpan.Zero ? sample.Latency : null;

    private readonly record struct HeldAttempt(DateTimeOffset At, DateTimeOffset Until, Domain.Endpoints.QualityVerdict Quality, bool Fallback, long Serial);
}
