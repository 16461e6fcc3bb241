using ControlPlane.Domain.Baselines;
using ControlPlane.Domain.Health;

namespace ControlPlane.Domain.Slo;

/// <summary>Provider health alerts of one endpoint, evaluated from its <see cref="HealthWindow"/> and
/// <see cref="BaselineValues"/>: error rate, p95 against baseline (sustained), 429 rate (pages), cost per successful
/// task and quality against baseline (tickets). Holds only the start time of the sustained latency condition.</summary>
public sealed class ProviderHealthAlerts
{
    private readonly ProviderAlertOptions _options;
    private DateTimeOffset? _latencyHighSince;

    /// <summary>Creates the evaluator; validates <paramref name="options"/>.</summary>
    public ProviderHealthAlerts(ProviderAlertOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Validate();
    }

    /// <summary>Alerts firing at <paramref name="now"/>. Call once per evaluation period; the latency alert fires
    /// once its condition has held at every call for <see cref="ProviderAlertOptions.LatencyFor"/>.</summary>
    public IReadOnlyList<HealthAlert> Evaluate(DateTimeOffset now, HealthWindow window, in BaselineValues baseline)
    {
        ArgumentNullException.ThrowIfNull(window);
        if (window.Duration < _options.LongestWindow)
        {
            throw new ArgumentException(
                $"The window covers {window.Duration} but {nameof(ProviderAlertOptions)} needs {_options.LongestWindow}.", nameof(window));
        }

        var alerts = new List<HealthAlert>();
        var errors = window.Snapshot(now, _options.ErrorRateWindow);
        if (errors.Served >= _options.MinRequests && errors.ErrorRate > _options.ErrorRateThreshold)
        {
            alerts.Add(new HealthAlert("provider-error-rate", AlertSeverity.Page, errors.ErrorRate, _options.ErrorRateThreshold, _options.ErrorRateWindow, now));
        }

        var latency = window.Snapshot(now, _options.LatencyWindow);
        if (baseline.LatencyP95 is { } baseP95 && baseP95 > TimeSpan.Zero
            && latency.LatencySamples >= _options.MinLatencySamples && latency.LatencyP95 is { } p95
            && p95 / baseP95 > _options.LatencyFactor)
        {
            _latencyHighSince ??= now;
            if (now - _latencyHighSince.Value >= _options.LatencyFor)
            {
                alerts.Add(new HealthAlert("provider-latency-p95", AlertSeverity.Page, p95 / baseP95, _options.LatencyFactor, _options.LatencyFor, now));
            }
        }
        else
        {
            _latencyHighSince = null;
        }

        var limited = window.Snapshot(now, _options.RateLimitedWindow);
        if (limited.Requests >= _options.MinRequests && limited.RateLimitedRate > _options.RateLimitedThreshold)
        {
            alerts.Add(new HealthAlert("provider-rate-limited", AlertSeverity.Page, limited.RateLimitedRate, _options.RateLimitedThreshold, _options.RateLimitedWindow, now));
        }

        var trend = window.Snapshot(now, _options.TrendWindow);
        if (baseline.CostPerSuccess is { } baseCost && baseCost > 0 && trend.Successes >= _options.MinTrendSamples
            && trend.CostPerSuccess is { } cost && cost > baseCost * (1 + _options.CostIncreaseFraction))
        {
            alerts.Add(new HealthAlert("provider-cost-per-success", AlertSeverity.Ticket, (cost / baseCost) - 1, _options.CostIncreaseFraction, _options.TrendWindow, now));
        }

        if (baseline.QualityPassRate is { } basePass && basePass > 0 && trend.QualityVerdicts >= _options.MinTrendSamples
            && trend.QualityPassRate is { } pass && pass < basePass * (1 - _options.QualityDropFraction))
        {
            alerts.Add(new HealthAlert("provider-quality-drop", AlertSeverity.Ticket, 1 - (pass / basePass), _options.QualityDropFraction, _options.TrendWindow, now));
        }

        return alerts;
    }
}
