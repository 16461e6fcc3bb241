using ControlPlane.Domain.Health;

namespace ControlPlane.Domain.Baselines;

/// <summary>Long-horizon baselines of one endpoint (or endpoint and class): p95 latency, p95 TTFT, quality
/// pass rate and cost per successful task, each an exponentially decayed mean of periodic window snapshots.
/// The owner feeds it only while the endpoint is healthy so that an incident does not become the new normal.</summary>
public sealed class RollingBaseline
{
    private readonly BaselineOptions _options;
    private DecayedMean _latency;
    private DecayedMean _ttft;
    private DecayedMean _passRate;
    private DecayedMean _cost;

    /// <summary>Creates an empty baseline; validates <paramref name="options"/>.</summary>
    public RollingBaseline(BaselineOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Validate();
    }

    /// <summary>Raw decayed means, for persistence (latency and TTFT in microseconds).</summary>
    public (DecayedMean LatencyP95Micros, DecayedMean TtftP95Micros, DecayedMean QualityPassRate, DecayedMean CostPerSuccess) State =>
        (_latency, _ttft, _passRate, _cost);

    /// <summary>Replaces the state with persisted means.</summary>
    public void Restore(DecayedMean latencyP95Micros, DecayedMean ttftP95Micros, DecayedMean qualityPassRate, DecayedMean costPerSuccess)
    {
        _latency = latencyP95Micros;
        _ttft = ttftP95Micros;
        _passRate = qualityPassRate;
        _cost = costPerSuccess;
    }

    /// <summary>Feeds one snapshot taken at <paramref name="at"/>; each metric is observed only when the
    /// snapshot holds enough samples for it.</summary>
    public void Observe(DateTimeOffset at, in HealthSnapshot snapshot)
    {
        var min = _options.MinSamplesPerObservation;
        if (snapshot.LatencySamples >= min && snapshot.LatencyP95 is { } l)
        {
            _latency.Observe(l.Ticks / (double)TimeSpan.TicksPerMicrosecond, at, _options.Horizon);
        }

        if (snapshot.TtftSamples >= min && snapshot.TtftP95 is { } t)
        {
            _ttft.Observe(t.Ticks / (double)TimeSpan.TicksPerMicrosecond, at, _options.Horizon);
        }

        if (snapshot.QualityVerdicts >= min && snapshot.QualityPassRate is { } p)
        {
            _passRate.Observe(p, at, _options.Horizon);
        }

        if (snapshot.Successes >= min && snapshot.CostPerSuccess is { } c)
        {
            _cost.Observe(c, at, _options.Horizon);
        }
    }

    /// <summary>Seeds metrics that are not trusted yet (no persisted or learned baseline) with known values, e.g. the
    /// fleet file's <c>baseline</c> of an endpoint: a seeded metric is trusted at once and weighs as one observation,
    /// so the endpoint's own feeds take over as they come. Metrics already trusted, and null values, are left alone.</summary>
    public void Seed(DateTimeOffset at, in BaselineValues values)
    {
        SeedOne(ref _latency, values.LatencyP95 is { } l && l > TimeSpan.Zero ? l.Ticks / (double)TimeSpan.TicksPerMicrosecond : null, at);
        SeedOne(ref _ttft, values.TtftP95 is { } t && t > TimeSpan.Zero ? t.Ticks / (double)TimeSpan.TicksPerMicrosecond : null, at);
        SeedOne(ref _passRate, values.QualityPassRate is { } p && p is > 0 and <= 1 ? p : null, at);
        SeedOne(ref _cost, values.CostPerSuccess is { } c && c > 0 && double.IsFinite(c) ? c : null, at);
    }

    /// <summary>Seeds each metric that has never been observed (nor seeded, nor restored) from <paramref name="window"/>
    /// (a snapshot of the whole health window) once it holds <see cref="BaselineOptions.MinSamplesPerObservation"/>
    /// samples of it: a low-traffic endpoint, whose feed periods never hold enough samples, gets a baseline from its
    /// first samples instead of none. A metric observed at least once learns by <see cref="Observe"/> only.</summary>
    public void Bootstrap(DateTimeOffset at, in HealthSnapshot window)
    {
        var min = _options.MinSamplesPerObservation;
        Seed(at, new BaselineValues
        {
            LatencyP95 = _latency.Observations == 0 && window.LatencySamples >= min ? window.LatencyP95 : null,
            TtftP95 = _ttft.Observations == 0 && window.TtftSamples >= min ? window.TtftP95 : null,
            QualityPassRate = _passRate.Observations == 0 && window.QualityVerdicts >= min ? window.QualityPassRate : null,
            CostPerSuccess = _cost.Observations == 0 && window.Successes >= min ? window.CostPerSuccess : null,
        });
    }

    /// <summary>Seeds the quality pass rate from <paramref name="window"/> (a snapshot of the whole health window) while it is
    /// not trusted (never seeded, restored or observed <see cref="BaselineOptions.MinObservations"/> times) and the window
    /// holds <see cref="BaselineOptions.MinSamplesPerObservation"/> verdicts. <see cref="Bootstrap"/> covers only metrics
    /// never observed, so a busy endpoint without a fleet seed, observed once a minute, had no quality baseline for
    /// <see cref="BaselineOptions.MinObservations"/> minutes and its quality breaker could not open; this runs at every
    /// evaluation. Returns whether it seeded.</summary>
    public bool BootstrapQuality(DateTimeOffset at, in HealthSnapshot window)
    {
        if (Trusted(_passRate) is not null || window.QualityVerdicts < _options.MinSamplesPerObservation
            || window.QualityPassRate is not { } p || p is <= 0 or > 1)
        {
            return false;
        }

        SeedOne(ref _passRate, p, at);
        return true;
    }

    /// <summary>The baselines that have enough observations to be trusted.</summary>
    public BaselineValues Current => new()
    {
        LatencyP95 = Trusted(_latency) is { } l ? TimeSpan.FromTicks((long)Math.Round(l * TimeSpan.TicksPerMicrosecond)) : null,
        TtftP95 = Trusted(_ttft) is { } t ? TimeSpan.FromTicks((long)Math.Round(t * TimeSpan.TicksPerMicrosecond)) : null,
        QualityPassRate = Trusted(_passRate),
        CostPerSuccess = Trusted(_cost),
    };

    private void SeedOne(ref DecayedMean mean, double? value, DateTimeOffset at)
    {
        if (value is { } v && Trusted(mean) is null)
        {
            mean = DecayedMean.Restore(v, 1, at, _options.MinObservations);
        }
    }

    private double? Trusted(in DecayedMean mean) => mean.Observations >= _options.MinObservations ? mean.Mean : null;
}
