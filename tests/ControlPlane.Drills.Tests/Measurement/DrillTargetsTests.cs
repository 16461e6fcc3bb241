using ControlPlane.Drills.Measurement;
using ControlPlane.Drills.Tests.Support;
using ControlPlane.Drills.Traffic;

namespace ControlPlane.Drills.Tests.Measurement;

public sealed class DrillTargetsTests
{
    private static List<TargetLine> Judge(IReadOnlyList<RequestSample> samples, params IncidentReport[] incidents)
    {
        var classes = Fixtures.Fleet.Classes.Select(c => ClassReport.Of(c.Name, samples.Where(s => s.Class == c.Name), _ => null)).ToList();
        return DrillTargets.Evaluate(Fixtures.Fleet, incidents, classes, samples);
    }

    private static RequestSample[] Healthy(int chat = 1000) =>
    [
        .. Enumerable.Range(0, chat).Select(i => Fixtures.Ok("customer_chat", i * 0.1, "openai-gpt4o-us")),
        .. Enumerable.Range(0, 20).Select(i => Fixtures.Ok("legal_draft", i, "anthropic-sonnet-eu")),
    ];

    [Fact]
    public void A_legal_draft_answer_from_a_non_primary_endpoint_fails_its_target()
    {
        Assert.True(Judge(Healthy()).Single(l => l.Target == "legal_draft_primary_only").Pass);
        var lines = Judge([.. Healthy(), Fixtures.Ok("legal_draft", 30, "anthropic-sonnet-us", "fallback_breaker_open")]);
        var line = lines.Single(l => l.Target == "legal_draft_primary_only");
        Assert.False(line.Pass);
        Assert.StartsWith("1 of 21", line.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Customer_chat_availability_must_be_at_least_99_5_percent_of_requests()
    {
        var five = Healthy(995).Concat(Enumerable.Range(0, 5).Select(i => Fixtures.Failed("customer_chat", 50 + i))).ToArray();
        Assert.True(Judge(five).Single(l => l.Target == "customer_chat_availability").Pass);
        var six = five.Append(Fixtures.Failed("customer_chat", 60)).ToArray();
        Assert.False(Judge(six).Single(l => l.Target == "customer_chat_availability").Pass);
    }

    [Fact]
    public void Route_around_and_recovery_fail_past_their_limits_and_the_summary_fails()
    {
        var fast = new IncidentReport("openai-gpt4o-us", "outage", 40, 130)
        {
            MoveExpected = true, PreShare = 0.5, MovedSeconds = 6, MoveLimitSeconds = 30, RecoverSeconds = 40, RecoverLimitSeconds = 60,
        };
        var lines = Judge(Healthy(), fast);
        Assert.All(lines.Where(l => l.Target is "route_around" or "recovery"), l => Assert.True(l.Pass));
        var slow = fast with { MovedSeconds = 31, RecoverSeconds = 61 };
        lines = Judge(Healthy(), slow);
        Assert.All(lines.Where(l => l.Target is "route_around" or "recovery"), l => Assert.False(l.Pass));
        Assert.False(new ControlPlane.Drills.Report.DrillSummary { Scenario = "x", Target = "proxy", Targets = lines }.Pass);
    }

    [Fact]
    public void A_fault_that_does_not_move_traffic_is_not_applicable_to_route_around()
    {
        var context = new IncidentReport("openai-gpt4o-us", "context_window", 40, 130) { MoveExpected = false, MoveLimitSeconds = 30 };
        var line = Judge(Healthy(), context).Single(l => l.Target == "route_around");
        Assert.Null(line.Pass);
    }

    [Fact]
    public void A_fault_that_does_not_move_traffic_names_what_detected_it()
    {
        var runaway = new IncidentReport("google-gemini-flash-eu", "runaway_output", 40, 160)
        {
            MoveExpected = false, MoveLimitSeconds = 30, DetectSeconds = 23.4, DetectedBy = "provider-output-length",
        };
        var line = Judge(Healthy(), runaway).Single(l => l.Target == "route_around");
        Assert.Null(line.Pass);
        Assert.Equal("runaway_output on google-gemini-flash-eu: does not move traffic by design (detected after 23.4 s by provider-output-length)", line.Detail);

        var unseen = Judge(Healthy(), runaway with { DetectSeconds = null, DetectedBy = null }).Single(l => l.Target == "route_around");
        Assert.EndsWith("(detected — not by the breaker nor an endpoint alert)", unseen.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Budgets_fail_when_a_60_s_window_holds_more_than_twice_the_per_minute_budget()
    {
        // customer_chat: 1,500,000 tokens a minute. 31 answers of 100,000 tokens within one minute: 3.1 M > 3 M.
        var burst = Enumerable.Range(0, 31).Select(i => Fixtures.Ok("customer_chat", 10 + i, "openai-gpt4o-us", input: 50_000, output: 50_000)).ToArray();
        Assert.False(Judge([.. Healthy(), .. burst]).Single(l => l.Target == "budgets").Pass);
        Assert.True(Judge([.. Healthy(), .. burst.Take(29)]).Single(l => l.Target == "budgets").Pass);
    }

    [Fact]
    public void The_largest_window_slides_over_send_times()
    {
        var samples = new[] { 0.0, 30, 59, 61, 62 }.Select(t => Fixtures.Ok("c", t, "e", input: 1, output: 0)).ToArray();
        Assert.Equal((4, 4), DrillTargets.MaxWindow(samples, 60));
    }
}
