using System.Globalization;
using ControlPlane.Domain.Health;
using ControlPlane.Domain.Slo;
using ControlPlane.Fleet;

namespace ControlPlane.Service.Alerting;

/// <summary><c>provider-output-length</c> (docs/alerts.md): runaway output at the endpoint, a ticket.</summary>
internal sealed partial class EndpointAlertRules
{
    /// <summary>The rule's name.</summary>
    public const string OutputLengthRule = "provider-output-length";

    private readonly OutputLengthWatch _outputLength = new(new OutputLengthOptions());

    /// <summary>The output-length baseline in force (null until learned or seeded), for views and tests.</summary>
    public double? OutputLengthBaseline => _outputLength.Baseline;

    // The mean output tokens per successful answer over the last 2 minutes (≥ 20 answers) against the endpoint's own
    // rolling baseline of the same (learned from buckets within 3× of it, or the fleet's baseline seed): above 3× it
    // opens a ticket. It is evaluated for every endpoint: it moves no traffic (the answers are valid, only longer);
    // the class's spend ceiling is what bounds the cost meanwhile.
    private void EvaluateOutputLength(DateTimeOffset now, EndpointCatalogEntry entry, HealthWindow window, List<AlertCondition> conditions)
    {
        if (entry.Baseline?.OutputTokensPerSuccess is { } seed)
        {
            _outputLength.Seed(now, seed);
        }

        var reading = _outputLength.Evaluate(now, window);
        if (!reading.Firing || reading.Mean is not { } mean || reading.Baseline is not { } baseline)
        {
            return;
        }

        var options = _outputLength.Options;
        var span = options.Window < window.Duration ? options.Window : window.Duration;
        var ratio = mean / baseline;
        conditions.Add(new AlertCondition(OutputLengthRule, AlertKind.Strategic, AlertSeverity.Ticket, ratio, options.Factor, span, TimeSpan.Zero,
            $"endpoint {entry.Id}: {mean.ToString("0", CultureInfo.InvariantCulture)} output tokens per successful answer over {Words(span)} is "
            + $"{ratio.ToString("0.0", CultureInfo.InvariantCulture)}x its baseline {baseline.ToString("0", CultureInfo.InvariantCulture)} "
            + $"(threshold {options.Factor.ToString("0.0#", CultureInfo.InvariantCulture)}x, {reading.Successes} answers)"));
    }
}
