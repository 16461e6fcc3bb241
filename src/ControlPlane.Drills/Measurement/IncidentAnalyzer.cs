using ControlPlane.Drills.Observation;
using ControlPlane.Drills.Scenarios;
using ControlPlane.Drills.Stack;

namespace ControlPlane.Drills.Measurement;

/// <summary>One fault's timeline as measured.</summary>
public sealed record IncidentReport(string Endpoint, string Kind, double StartSeconds, double EndSeconds)
{
    /// <summary>Fault start → first admin poll showing the breaker open, half-open, degraded or cooling; for a fault
    /// that does not move traffic by design (runaway output, context window), the first alert firing on the endpoint
    /// itself when the breaker saw nothing.</summary>
    public double? DetectSeconds { get; init; }

    /// <summary>What detected it: <c>breaker</c>, or the endpoint alert's rule (e.g. <c>provider-output-length</c>).</summary>
    public string? DetectedBy { get; init; }

    /// <summary>Fault start → first alert firing on the endpoint (or on a class it serves).</summary>
    public double? AlertSeconds { get; init; }

    /// <summary>The rule of that alert.</summary>
    public string? AlertRule { get; init; }

    /// <summary>Whether this kind of fault is expected to move traffic off the endpoint.</summary>
    public bool MoveExpected { get; init; }

    /// <summary>The endpoint's share of its classes' requests before the fault (attempts per request).</summary>
    public double? PreShare { get; init; }

    /// <summary>Fault start → first second from which the endpoint's share stayed under 10 % of <see cref="PreShare"/>
    /// for <see cref="IncidentAnalyzer.MovedWindow"/> seconds.</summary>
    public double? MovedSeconds { get; init; }

    /// <summary>The routed-around target for this fault.</summary>
    public double MoveLimitSeconds { get; init; }

    /// <summary>How <see cref="MoveLimitSeconds"/> was computed.</summary>
    public string MoveLimitBasis { get; init; } = "";

    /// <summary>Fault end → first second from which the endpoint's share was back above 80 % of <see cref="PreShare"/>
    /// for <see cref="IncidentAnalyzer.RecoveredWindow"/> seconds; null when not seen.</summary>
    public double? RecoverSeconds { get; init; }

    /// <summary>Cooldown at the fault's end + ramp observation + ramp duration + two evaluation periods; null when
    /// the fault lasts to the drill's end (no recovery to judge).</summary>
    public double? RecoverLimitSeconds { get; init; }

    /// <summary>Breaker trips by the fault's end.</summary>
    public int TripsAtEnd { get; init; }

    /// <summary>Attempts the endpoint received while the fault was active.</summary>
    public long AttemptsDuringFault { get; init; }
}

/// <summary>Computes an <see cref="IncidentReport"/> from the drill's series.</summary>
internal static class IncidentAnalyzer
{
    /// <summary>Seconds the share must stay low to count as moved.</summary>
    public const int MovedWindow = 3;

    /// <summary>Seconds the share must stay back to count as recovered.</summary>
    public const int RecoveredWindow = 5;

    /// <summary>Seconds before the fault that give its pre-fault share.</summary>
    public const int PreWindow = 20;

    /// <summary>The routed-around target for every fault but quality drift.</summary>
    public const double RouteAroundSeconds = 30;

    /// <param name="fault">The fault.</param>
    /// <param name="duration">The drill's length.</param>
    /// <param name="attempts">Attempts the fault's endpoint received per second.</param>
    /// <param name="classRequests">Requests per second of the classes that route to the endpoint.</param>
    /// <param name="breakers">The endpoint's breaker polls.</param>
    /// <param name="alerts">Alerts seen firing.</param>
    /// <param name="endpointClasses">Classes that route to the endpoint.</param>
    /// <param name="moveExpected">Whether this fault should move traffic.</param>
    /// <param name="tuning">The control plane's breaker timing.</param>
    public static IncidentReport Analyze(DrillFault fault, TimeSpan duration, long[] attempts, long[] classRequests, IEnumerable<BreakerSample> breakers,
        IEnumerable<AlertSample> alerts, IReadOnlySet<string> endpointClasses, bool moveExpected, DrillTuning tuning)
    {
        var start = fault.Start.TotalSeconds;
        var end = fault.EndWithin(duration).TotalSeconds;
        var seconds = Math.Min(attempts.Length, classRequests.Length);
        var report = new IncidentReport(fault.Endpoint, fault.KindName, start, end) { MoveExpected = moveExpected };

        var ordered = breakers.Where(b => b.Endpoint == fault.Endpoint).OrderBy(b => b.At).ToList();
        var detected = ordered.FirstOrDefault(b => b.At >= start && b.Detected);
        var alert = alerts.Where(a => a.At >= start - 1 && (a.TargetId == fault.Endpoint || (a.TargetKind == "class" && endpointClasses.Contains(a.TargetId))))
            .OrderBy(a => a.At).FirstOrDefault();
        var trips = ordered.LastOrDefault(b => b.At <= end)?.Trips ?? 0;
        // A fault that moves no traffic is detected by the endpoint's own alert (the breaker has nothing to trip on).
        var endpointAlert = detected is null && !moveExpected
            ? alerts.Where(a => a.At >= start - 1 && a.At <= end + 1 && a.TargetKind == "endpoint" && a.TargetId == fault.Endpoint).OrderBy(a => a.At).FirstOrDefault()
            : null;

        var preFrom = Math.Max(0, (int)Math.Floor(start) - PreWindow);
        var preTo = Math.Min(seconds, (int)Math.Floor(start));
        var preAttempts = Sum(attempts, preFrom, preTo);
        var preRequests = Sum(classRequests, preFrom, preTo);
        double? preShare = preRequests > 0 && preAttempts > 0 ? (double)preAttempts / preRequests : null;
        var rate = preTo > preFrom ? (double)preAttempts / (preTo - preFrom) : 0;

        var limit = RouteAroundSeconds;
        var basis = "30 s";
        if (fault.Kind == FaultKind.QualityDrift)
        {
            // The breaker judges quality only once an evaluation holds MinQualitySamples verdicts: at the endpoint's
            // pre-fault rate that takes MinQualitySamples / rate seconds, then up to one evaluation period.
            var sampling = rate > 0 ? tuning.MinQualitySamples / rate : double.PositiveInfinity;
            limit = Math.Max(RouteAroundSeconds, sampling + tuning.EvaluationPeriod.TotalSeconds);
            basis = rate > 0
                ? $"max(30 s, {tuning.MinQualitySamples} verdicts / {rate:0.##} attempts/s + {tuning.EvaluationPeriod.TotalSeconds:0} s evaluation)"
                : "no pre-fault traffic";
        }

        double? moved = null, recovered = null;
        if (preShare is { } share)
        {
            for (var s = (int)Math.Floor(start); s + MovedWindow <= seconds && s < end; s++)
            {
                var req = Sum(classRequests, s, s + MovedWindow);
                if (req > 0 && (double)Sum(attempts, s, s + MovedWindow) / req < 0.1 * share)
                {
                    moved = Math.Max(0, s - start);
                    break;
                }
            }

            if (moved is not null && end < duration.TotalSeconds - 1)
            {
                for (var s = (int)Math.Ceiling(end); s + RecoveredWindow <= seconds; s++)
                {
                    var req = Sum(classRequests, s, s + RecoveredWindow);
                    if (req > 0 && (double)Sum(attempts, s, s + RecoveredWindow) / req > 0.8 * share)
                    {
                        recovered = s - end;
                        break;
                    }
                }
            }
        }

        return report with
        {
            DetectSeconds = detected is not null ? Math.Round(detected.At - start, 1) : endpointAlert is not null ? Math.Round(Math.Max(0, endpointAlert.At - start), 1) : null,
            DetectedBy = detected is not null ? "breaker" : endpointAlert?.Rule,
            AlertSeconds = alert is null ? null : Math.Round(Math.Max(0, alert.At - start), 1),
            AlertRule = alert?.Rule,
            PreShare = preShare is null ? null : Math.Round(preShare.Value, 3),
            MovedSeconds = moved is null ? null : Math.Round(moved.Value, 1),
            MoveLimitSeconds = Math.Round(limit, 1),
            MoveLimitBasis = basis,
            RecoverSeconds = recovered is null ? null : Math.Round(recovered.Value, 1),
            RecoverLimitSeconds = end < duration.TotalSeconds - 1 ? tuning.RecoveryLimit(trips).TotalSeconds : null,
            TripsAtEnd = trips,
            AttemptsDuringFault = Sum(attempts, (int)Math.Floor(start), Math.Min(seconds, (int)Math.Ceiling(end))),
        };
    }

    private static long Sum(long[] series, int from, int to)
    {
        long total = 0;
        for (var i = Math.Max(0, from); i < Math.Min(series.Length, to); i++)
        {
            total += series[i];
        }

        return total;
    }
}
