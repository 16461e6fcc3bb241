using ControlPlane.Drills.Measurement;
using ControlPlane.Drills.Observation;
using ControlPlane.Drills.Scenarios;
using ControlPlane.Drills.Stack;

namespace ControlPlane.Drills.Tests.Measurement;

public sealed class IncidentAnalyzerTests
{
    private static readonly HashSet<string> Classes = new(["customer_chat"], StringComparer.Ordinal);
    private static readonly DrillTuning Tuning = new();

    private static DrillFault Outage(double start, double? end) =>
        new("e1", FaultKind.Outage, TimeSpan.FromSeconds(start), end is null ? null : TimeSpan.FromSeconds(end.Value), 1, 1);

    /// <summary>10 requests a second; the endpoint gets <paramref name="share"/> of them until <paramref name="movedAt"/>,
    /// nothing until <paramref name="backAt"/>, then its share again.</summary>
    private static (long[] Attempts, long[] Requests) Series(int seconds, double share, int movedAt, int backAt)
    {
        var attempts = new long[seconds];
        var requests = new long[seconds];
        for (var s = 0; s < seconds; s++)
        {
            requests[s] = 10;
            attempts[s] = s < movedAt || s >= backAt ? (long)(10 * share) : 0;
        }

        return (attempts, requests);
    }

    [Fact]
    public void Traffic_moved_is_the_first_second_the_share_falls_under_a_tenth_of_its_pre_fault_share()
    {
        var (attempts, requests) = Series(120, 0.5, movedAt: 47, backAt: 200);
        var report = IncidentAnalyzer.Analyze(Outage(40, null), TimeSpan.FromSeconds(120), attempts, requests, [], [], Classes, true, Tuning);
        Assert.Equal(0.5, report.PreShare);
        Assert.Equal(7, report.MovedSeconds);
        Assert.Null(report.RecoverSeconds);
        Assert.Null(report.RecoverLimitSeconds);
        Assert.Equal(35, report.AttemptsDuringFault);
    }

    [Fact]
    public void Traffic_that_never_leaves_is_never_moved()
    {
        var (attempts, requests) = Series(120, 0.5, movedAt: 500, backAt: 500);
        var report = IncidentAnalyzer.Analyze(Outage(40, 80), TimeSpan.FromSeconds(120), attempts, requests, [], [], Classes, true, Tuning);
        Assert.Null(report.MovedSeconds);
    }

    [Fact]
    public void Recovery_is_counted_from_the_fault_end_to_the_share_coming_back()
    {
        var (attempts, requests) = Series(200, 0.5, movedAt: 45, backAt: 112);
        var breakers = new[]
        {
            new BreakerSample(41.2, "e1", "closed", false, false, 1, 0),
            new BreakerSample(44.3, "e1", "open", false, false, 0, 1),
            new BreakerSample(70.1, "e1", "open", false, false, 0, 2),
            new BreakerSample(100.5, "e1", "half_open", false, false, 0, 2),
        };
        var report = IncidentAnalyzer.Analyze(Outage(40, 90), TimeSpan.FromSeconds(200), attempts, requests, breakers, [], Classes, true, Tuning);
        Assert.Equal(5, report.MovedSeconds);
        Assert.Equal(22, report.RecoverSeconds);
        Assert.Equal(4.3, report.DetectSeconds);
        Assert.Equal(2, report.TripsAtEnd);
        // Second trip: cooldown 20 s (10 × 2, capped at 20) + 10 + 10 + 2 × 10.
        Assert.Equal(60, report.RecoverLimitSeconds);
    }

    [Fact]
    public void Detection_ignores_polls_before_the_fault_and_alerts_on_other_targets()
    {
        var breakers = new[]
        {
            new BreakerSample(10, "e1", "open", false, false, 0, 1),
            new BreakerSample(41, "e1", "closed", false, false, 1, 1),
            new BreakerSample(42, "e2", "open", false, false, 0, 1),
            new BreakerSample(48, "e1", "closed", false, true, 1, 1),
        };
        var alerts = new[]
        {
            new AlertSample(30, "provider-error-rate", "endpoint", "e1", []),
            new AlertSample(45, "provider-error-rate", "endpoint", "e2", []),
            new AlertSample(52, "availability-burn", "class", "customer_chat", []),
        };
        var (attempts, requests) = Series(120, 0.5, movedAt: 500, backAt: 500);
        var report = IncidentAnalyzer.Analyze(Outage(40, 80), TimeSpan.FromSeconds(120), attempts, requests, breakers, alerts, Classes, true, Tuning);
        Assert.Equal(8, report.DetectSeconds);
        Assert.Equal(12, report.AlertSeconds);
        Assert.Equal("availability-burn", report.AlertRule);
    }

    [Fact]
    public void A_fault_that_moves_no_traffic_is_detected_by_the_first_alert_on_the_endpoint_itself()
    {
        var fault = new DrillFault("e1", FaultKind.RunawayOutput, TimeSpan.FromSeconds(40), TimeSpan.FromSeconds(160), 1, 1);
        var alerts = new[]
        {
            new AlertSample(20, "provider-output-length", "endpoint", "e1", []),
            new AlertSample(50, "cost-per-success", "class", "customer_chat", []),
            new AlertSample(55, "provider-output-length", "endpoint", "e2", []),
            new AlertSample(63.4, "provider-output-length", "endpoint", "e1", []),
        };
        var (attempts, requests) = Series(240, 0.5, movedAt: 500, backAt: 500);
        var report = IncidentAnalyzer.Analyze(fault, TimeSpan.FromSeconds(240), attempts, requests, [], alerts, Classes, false, Tuning);
        Assert.Equal((23.4, "provider-output-length"), (report.DetectSeconds!.Value, report.DetectedBy));
        Assert.Equal((10.0, "cost-per-success"), (report.AlertSeconds!.Value, report.AlertRule));

        // A breaker that saw it wins; a fault expected to move traffic is never "detected" by an alert.
        var breakers = new[] { new BreakerSample(45, "e1", "closed", true, false, 1, 0) };
        var byBreaker = IncidentAnalyzer.Analyze(fault, TimeSpan.FromSeconds(240), attempts, requests, breakers, alerts, Classes, false, Tuning);
        Assert.Equal((5.0, "breaker"), (byBreaker.DetectSeconds!.Value, byBreaker.DetectedBy));
        var moving = IncidentAnalyzer.Analyze(fault, TimeSpan.FromSeconds(240), attempts, requests, [], alerts, Classes, true, Tuning);
        Assert.Equal(((double?)null, (string?)null), (moving.DetectSeconds, moving.DetectedBy));
    }

    [Fact]
    public void Quality_drift_gets_the_time_its_minimum_sample_count_takes_at_the_endpoints_rate()
    {
        // 1 attempt a second: 50 verdicts take 50 s, plus a 10 s evaluation.
        var (attempts, requests) = Series(200, 0.1, movedAt: 95, backAt: 500);
        var fault = new DrillFault("e1", FaultKind.QualityDrift, TimeSpan.FromSeconds(40), null, 1, 1);
        var report = IncidentAnalyzer.Analyze(fault, TimeSpan.FromSeconds(200), attempts, requests, [], [], Classes, true, Tuning);
        Assert.Equal(60, report.MoveLimitSeconds);
        Assert.Equal(55, report.MovedSeconds);
        Assert.Contains("50 verdicts / 1 attempts/s", report.MoveLimitBasis, StringComparison.Ordinal);
    }

    [Fact]
    public void Attempts_per_second_are_the_differences_of_the_simulators_cumulative_counters()
    {
        var counts = new[]
        {
            new SimulatorCount(0.1, "e1", 100, 0),
            new SimulatorCount(1.1, "e1", 105, 0),
            new SimulatorCount(3.2, "e1", 115, 4),
            new SimulatorCount(4.1, "e1", 116, 4),
        };
        var series = TrafficSeries.AttemptsPerSecond(counts, 5)["e1"];
        Assert.Equal([5, 10, 0, 1, 0], series);
    }
}
