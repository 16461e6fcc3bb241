using ControlPlane.Drills.Measurement;
using ControlPlane.Drills.Tests.Support;

namespace ControlPlane.Drills.Tests.Measurement;

public sealed class ClassReportTests
{
    [Fact]
    public void Availability_counts_requests_not_attempts_and_a_request_served_after_a_fallback_is_available()
    {
        var samples = new[]
        {
            Fixtures.Ok("customer_chat", 1, "openai-gpt4o-us"),
            // Two failed attempts, then served by a fallback: one available request.
            Fixtures.Ok("customer_chat", 2, "anthropic-sonnet-us", "fallback_breaker_open", attempts: 3),
            Fixtures.Failed("customer_chat", 3),
            Fixtures.Failed("customer_chat", 4) with { Abandoned = true },
        };
        var report = ClassReport.Of("customer_chat", samples, _ => (0.001m, 0.002m));
        Assert.Equal(3, report.Requests);
        Assert.Equal(2, report.Available);
        Assert.Equal(2.0 / 3, report.Availability, 9);
        Assert.Equal(0.5, report.FallbackShare);
        Assert.Equal(1, report.ByRouteReason["fallback_breaker_open"]);
        Assert.Equal(1, report.Errors["HTTP 502"]);
        Assert.Equal(2 * (100 * 0.001m + 50 * 0.002m) / 1000m, report.CostUsd);
    }

    [Fact]
    public void P95_is_the_nearest_rank_of_the_available_requests()
    {
        var samples = Enumerable.Range(1, 100).Select(i => Fixtures.Ok("c", i, "e", latency: i)).Append(Fixtures.Failed("c", 101) with { LatencyMs = 10_000 });
        var report = ClassReport.Of("c", samples, _ => null);
        Assert.Equal(95, report.LatencyP95Ms);
        Assert.Null(report.TtftP95Ms);
    }
}
