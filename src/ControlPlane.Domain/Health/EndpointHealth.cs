using ControlPlane.Domain.Baselines;
using ControlPlane.Domain.Breakers;
using ControlPlane.Domain.Endpoints;

namespace ControlPlane.Domain.Health;

/// <summary>A breaker event with the scope it belongs to.</summary>
/// <param name="EndpointId">The endpoint.</param>
/// <param name="WorkloadClass">The workload class, or null for the endpoint-wide breaker.</param>
/// <param name="Event">What happened.</param>
public sealed record HealthEvent(string EndpointId, string? WorkloadClass, BreakerEvent Event);

/// <summary>The live health of one endpoint: an endpoint-wide <see cref="HealthTrack"/> plus one per workload
/// class seen (up to <see cref="EndpointHealthOptions.MaxWorkloadClasses"/>). This is what an endpoint grain
/// holds; time comes from the injected <see cref="TimeProvider"/>.</summary>
public sealed class EndpointHealth
{
    private readonly EndpointHealthOptions _options;
    private readonly TimeProvider _time;
    private readonly Dictionary<string, HealthTrack> _classes = new(StringComparer.Ordinal);
    private BaselineValues _seed;

    /// <summary>Creates the health of <paramref name="endpointId"/>; validates <paramref name="options"/>.</summary>
    public EndpointHealth(string endpointId, EndpointHealthOptions options, TimeProvider time)
    {
        ArgumentException.ThrowIfNullOrEmpty(endpointId);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        EndpointId = endpointId;
        _options = options.Validate();
        _time = time;
        Endpoint = new HealthTrack(options);
        Pace = new OutputPace(options.Window);
    }

    /// <summary>The endpoint's id.</summary>
    public string EndpointId { get; }

    /// <summary>The endpoint-wide track.</summary>
    public HealthTrack Endpoint { get; }

    /// <summary>Time per output token of the endpoint's successful attempts (endpoint-wide only).</summary>
    public OutputPace Pace { get; }

    /// <summary>Workload classes with their own track.</summary>
    public IReadOnlyCollection<string> WorkloadClasses => _classes.Keys;

    /// <summary>The track of <paramref name="workloadClass"/>, if it has one.</summary>
    public HealthTrack? Class(string workloadClass) => _classes.GetValueOrDefault(workloadClass);

    /// <summary>Records one outcome endpoint-wide and, when given, for its workload class (whose track is
    /// created, and allocated, on the class's first outcome).</summary>
    public void Record(in OutcomeSample sample, string? workloadClass = null)
    {
        Endpoint.Record(sample);
        Pace.Record(sample);
        if (workloadClass is not null && TrackFor(workloadClass) is { } track)
        {
            track.Record(sample);
        }
    }

    /// <summary>Records one synthetic outcome (a prober's graded call made directly, not routed): it feeds the endpoint-wide
    /// window (errors, latency, quality, so drift is seen without user traffic) and the endpoint-wide breaker's recovery
    /// gate (<see cref="EndpointBreaker.OnSyntheticOutcome"/>), never a workload class's track (it belongs to no class).</summary>
    public void RecordSynthetic(in OutcomeSample sample)
    {
        Endpoint.Window.Record(sample);
        Endpoint.Breaker.OnSyntheticOutcome(sample);
    }

    /// <summary>The track of <paramref name="workloadClass"/> (endpoint-wide when null), created when missing; null when
    /// <see cref="EndpointHealthOptions.MaxWorkloadClasses"/> is reached. Used to restore persisted baselines.</summary>
    public HealthTrack? Track(string? workloadClass) => workloadClass is null ? Endpoint : TrackFor(workloadClass);

    /// <summary>Seeds the baselines of every track, present and future, with known values (the fleet file's
    /// <c>baseline</c>); see <see cref="RollingBaseline.Seed"/>: metrics already trusted keep their values.</summary>
    public void SeedBaselines(in BaselineValues seed)
    {
        _seed = seed;
        var now = _time.GetUtcNow();
        Endpoint.Baseline.Seed(now, seed);
        foreach (var track in _classes.Values)
        {
            track.Baseline.Seed(now, seed);
        }
    }

    /// <summary>One evaluation period of every track at the current time; returns the events it produced
    /// (and any queued by outcomes since the last call).</summary>
    public IReadOnlyList<HealthEvent> Evaluate()
    {
        var now = _time.GetUtcNow();
        Endpoint.Evaluate(now);
        foreach (var track in _classes.Values)
        {
            track.Evaluate(now);
        }

        return DrainEvents();
    }

    /// <summary>Events queued by any track, endpoint-wide first.</summary>
    public IReadOnlyList<HealthEvent> DrainEvents()
    {
        var events = new List<HealthEvent>();
        foreach (var e in Endpoint.Breaker.DrainEvents())
        {
            events.Add(new HealthEvent(EndpointId, null, e));
        }

        foreach (var (name, track) in _classes)
        {
            foreach (var e in track.Breaker.DrainEvents())
            {
                events.Add(new HealthEvent(EndpointId, name, e));
            }
        }

        return events;
    }

    /// <summary>The view routing uses for <paramref name="workloadClass"/> (endpoint-wide when null or not
    /// tracked): the more restrictive of the endpoint-wide and the class view; an endpoint override wins.</summary>
    public EndpointHealthView Current(string? workloadClass = null)
    {
        var now = _time.GetUtcNow();
        var endpoint = Endpoint.Breaker.Current(now);
        if (workloadClass is null || endpoint.Override is not null || Class(workloadClass) is not { } track)
        {
            return endpoint;
        }

        var cls = track.Breaker.Current(now);
        if (cls.Override is not null)
        {
            return cls;
        }

        var worse = Severity(cls.State) > Severity(endpoint.State) ? cls : endpoint;
        return worse with
        {
            Degraded = endpoint.Degraded || cls.Degraded,
            TrafficFraction = Math.Min(endpoint.TrafficFraction, cls.TrafficFraction),
            RateLimitedUntil = Later(endpoint.RateLimitedUntil, cls.RateLimitedUntil),
        };
    }

    /// <summary>Admits a half-open probe for <paramref name="workloadClass"/>'s breaker (endpoint-wide when null).</summary>
    public bool TryAcquireProbe(string? workloadClass = null)
    {
        var breaker = workloadClass is not null && Class(workloadClass) is { } track ? track.Breaker : Endpoint.Breaker;
        return breaker.TryAcquireProbe(_time.GetUtcNow());
    }

    /// <summary>Sets an admin override on the endpoint-wide breaker (or on one class's).</summary>
    public void SetOverride(AdminOverride adminOverride, string? workloadClass = null) =>
        BreakerFor(workloadClass).SetOverride(adminOverride, _time.GetUtcNow());

    /// <summary>Clears the override of the endpoint-wide breaker (or of one class's).</summary>
    public bool ClearOverride(string actor, string? workloadClass = null) =>
        BreakerFor(workloadClass).ClearOverride(actor, _time.GetUtcNow());

    private EndpointBreaker BreakerFor(string? workloadClass) =>
        workloadClass is null ? Endpoint.Breaker
        : (TrackFor(workloadClass) ?? throw new InvalidOperationException(
            $"Workload class '{workloadClass}' cannot get its own breaker: {nameof(EndpointHealthOptions.MaxWorkloadClasses)} ({_options.MaxWorkloadClasses}) reached.")).Breaker;

    private HealthTrack? TrackFor(string workloadClass)
    {
        if (_classes.TryGetValue(workloadClass, out var track))
        {
            return track;
        }

        if (_classes.Count >= _options.MaxWorkloadClasses)
        {
            return null;
        }

        track = new HealthTrack(_options);
        track.Baseline.Seed(_time.GetUtcNow(), _seed);
        _classes.Add(workloadClass, track);
        return track;
    }

    private static int Severity(BreakerState state) => state switch
    {
        BreakerState.Open => 2,
        BreakerState.HalfOpen => 1,
        _ => 0,
    };

    private static DateTimeOffset? Later(DateTimeOffset? a, DateTimeOffset? b) =>
        a is null ? b : b is null ? a : a > b ? a : b;
}
