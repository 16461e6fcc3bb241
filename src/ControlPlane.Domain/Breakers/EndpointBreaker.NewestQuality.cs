using ControlPlane.Domain.Baselines;
using ControlPlane.Domain.Endpoints;
using ControlPlane.Domain.Health;

namespace ControlPlane.Domain.Breakers;

// The newest-verdicts quality rule (BreakerOptions.QualityConfidenceZ). The whole-window rule compares the pass rate of
// up to 5 minutes of verdicts with the baseline, so a drift on a busy endpoint must first outweigh minutes of good
// answers; this rule judges the newest verdicts alone, and asks for confidence instead of a longer span.
public sealed partial class EndpointBreaker
{
    private bool NewestQualityTrips(DateTimeOffset now, in QualityEvidence newest, in BaselineValues baseline)
    {
        if (baseline.QualityPassRate is not { } basePass || newest.Verdicts < _options.MinQualitySamples || newest.PassRate is not { } pass)
        {
            return false;
        }

        var threshold = basePass * (1 - _options.QualityDropFraction);
        var bound = newest.UpperBound(_options.QualityConfidenceZ);
        if (bound >= threshold)
        {
            return false;
        }

        Trip(now, BreakerReason.Quality,
            Invariant($"pass rate {pass:P2} over the newest {newest.Verdicts} verdicts (at most {bound:P2} at z = {_options.QualityConfidenceZ}) < {1 - _options.QualityDropFraction:P0} of baseline {basePass:P2}"));
        return true;
    }
}
