using ControlPlane.Domain.Baselines;
using ControlPlane.Domain.Breakers;

namespace ControlPlane.Domain.Health;

/// <summary>Window, baseline and breaker of one scope (an endpoint, or an endpoint for one workload class),
/// wired together: outcomes feed the window and the breaker; each evaluation judges the window against the
/// baseline and, while healthy, feeds the baseline.</summary>
public sealed class HealthTrack
{
    private readonly TimeSpan _feedPeriod;
    private readonly BreakerOptions _breakerOptions;
    private DateTimeOffset _lastFeed = DateTimeOffset.MinValue;

    /// <summary>Creates an empty track.</summary>
    public HealthTrack(EndpointHealthOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Window = new HealthWindow(options.Window);
        Baseline = new RollingBaseline(options.Baseline);
        Breaker = new EndpointBreaker(options.Breaker);
        _breakerOptions = options.Breaker;
        _feedPeriod = options.BaselineFeedPeriod;
    }

    /// <summary>The sliding window.</summary>
    public HealthWindow Window { get; }

    /// <summary>The long-horizon baselines.</summary>
    public RollingBaseline Baseline { get; }

    /// <summary>The breaker.</summary>
    public EndpointBreaker Breaker { get; private set; }

    /// <summary>Replaces the breaker with one rebuilt from a persisted <see cref="EndpointBreaker.Export"/>
    /// (after a restart or a hand-off), so an open breaker stays open and its cooldown and trip count carry on.</summary>
    public void RestoreBreaker(BreakerSnapshot snapshot) => Breaker = EndpointBreaker.Restore(_breakerOptions, snapshot);

    /// <summary>Records one outcome in the window and the breaker (a half-open probe is judged against the baseline's latency).</summary>
    public void Record(in OutcomeSample sample)
    {
        Window.Record(sample);
        Breaker.OnOutcome(sample, Baseline.Current);
    }

    /// <summary>One evaluation period at <paramref name="now"/>.</summary>
    public void Evaluate(DateTimeOffset now)
    {
        var signals = Window.Snapshot(now, notBefore: Breaker.SignalsSince);
        var newestQuality = Window.WeakestQuality(now, Breaker.SignalsSince, _breakerOptions.MinQualitySamples, _breakerOptions.QualityConfidenceZ);
        Breaker.Evaluate(now, signals, Baseline.Current, newestQuality);
        if (IsHealthy(now))
        {
            // A quality baseline as soon as the window holds enough verdicts, not after MinObservations feeds.
            Baseline.BootstrapQuality(now, Window.Snapshot(now, null, Breaker.SignalsSince));
        }

        if (_lastFeed == DateTimeOffset.MinValue)
        {
            // The first feed waits a whole period, so it never sees a partly filled span.
            _lastFeed = now;
            return;
        }

        if (now - _lastFeed < _feedPeriod)
        {
            return;
        }

        _lastFeed = now;
        // Only a fully healthy endpoint teaches the baseline what normal is.
        if (IsHealthy(now))
        {
            Baseline.Observe(now, Window.Snapshot(now, _feedPeriod, Breaker.SignalsSince));
            // A metric never observed (no seed, nothing persisted, too little traffic in every feed so far) takes the
            // whole window's value once the window holds enough samples of it.
            Baseline.Bootstrap(now, Window.Snapshot(now, null, Breaker.SignalsSince));
        }
    }

    private bool IsHealthy(DateTimeOffset now)
    {
        var view = Breaker.Current(now);
        return Breaker.AutomaticState == Endpoints.BreakerState.Closed && !view.Degraded && view.TrafficFraction >= 1;
    }
}
