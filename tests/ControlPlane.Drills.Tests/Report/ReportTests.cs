using ControlPlane.Drills.Measurement;
using ControlPlane.Drills.Report;

namespace ControlPlane.Drills.Tests.Report;

public sealed class ReportTests
{
    [Fact]
    public void The_html_report_is_self_contained_and_marks_the_incident_on_the_traffic_chart()
    {
        var summary = new DrillSummary
        {
            Scenario = "outage",
            Description = "<script>x</script>",
            Target = "proxy",
            DurationSeconds = 10,
            Incidents = [new IncidentReport("openai-gpt4o-us", "outage", 2, 6) { MoveExpected = true, MovedSeconds = 1, MoveLimitSeconds = 30 }],
            Targets = [new TargetLine("route_around", true, "ok")],
            TrafficByEndpoint = new Dictionary<string, long[]> { ["openai-gpt4o-us"] = [5, 5, 5, 0, 0, 0, 1, 5, 5, 5, 5] },
        };
        var html = ReportHtml.Render(summary);
        Assert.Contains("<svg", html, StringComparison.Ordinal);
        Assert.Contains("<polyline", html, StringComparison.Ordinal);
        Assert.Contains("<title>outage on openai-gpt4o-us</title></rect>", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<script", html, StringComparison.Ordinal);
        Assert.DoesNotContain("src=", html, StringComparison.Ordinal);
        Assert.DoesNotContain("href=", html, StringComparison.Ordinal);
        using var json = DrillSummary.Parse(summary.ToJson());
        Assert.True(json.RootElement.GetProperty("pass").GetBoolean());
        Assert.Equal("PASS", json.RootElement.GetProperty("targets")[0].GetProperty("verdict").GetString());
    }

    [Theory]
    [InlineData(0.5, true, "\r[###############...............]  50 % t")]
    [InlineData(2.0, false, "[##############################] 100 % t\n")]
    public void Progress_is_a_redrawn_bar_on_a_terminal_and_a_plain_line_otherwise(double fraction, bool interactive, string expected)
    {
        var line = ProgressReporter.Line(fraction, "t", interactive);
        Assert.Equal(expected.Replace("\n", Environment.NewLine, StringComparison.Ordinal), interactive ? line.TrimEnd() : line);
    }
}
