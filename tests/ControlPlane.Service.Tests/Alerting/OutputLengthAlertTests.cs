using ControlPlane.Domain.Slo;
using ControlPlane.Service.Alerting;
using ControlPlane.Service.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace ControlPlane.Service.Tests.Alerting;

/// <summary><c>provider-output-length</c> raised by the endpoint grain from outcomes reported through the routing node,
/// the fake clock driving its 10 s evaluation timer.</summary>
public sealed class OutputLengthAlertTests : IDisposable
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 7, 4, 0, 0, TimeSpan.Zero));
    private readonly TestStorage _storage = new();

    [Fact]
    public async Task Eight_times_the_output_against_the_learned_baseline_opens_a_ticket_that_holds_and_resolves()
    {
        await using var h = await AlertHarness.StartAsync(_time, _storage);

        // A minute of normal answers (100 tokens, 5 a second): the grain learns its baseline from the complete buckets.
        for (var i = 0; i < 6; i++)
        {
            await h.ReportAsync("prim", "chat", 50, outputTokens: 100);
            await h.AdvanceAsync(TimeSpan.FromSeconds(10));
        }

        Assert.Empty(h.Notices.Of(EndpointAlertRules.OutputLengthRule));

        // Eight times longer for two minutes: over 3× the 2-minute mean after about 20 s, and firing to the end.
        for (var i = 0; i < 12; i++)
        {
            await h.ReportAsync("prim", "chat", 50, outputTokens: 800);
            await h.AdvanceAsync(TimeSpan.FromSeconds(10));
        }

        var ticket = await h.Notices.WaitAsync(EndpointAlertRules.OutputLengthRule, AlertState.Firing, AlertSeverity.Ticket);
        Assert.Equal(("provider-output-length:endpoint:prim", AlertKind.Strategic, "prim", 3.0), (ticket.Key, ticket.Kind, ticket.TargetId, ticket.Threshold));
        Assert.InRange(ticket.StartedAt - new DateTimeOffset(2026, 12, 7, 4, 1, 0, TimeSpan.Zero), TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(40));
        var listed = Assert.Single((await h.ListAsync("firing")).Alerts, a => a.Rule == EndpointAlertRules.OutputLengthRule);
        Assert.Equal(("ticket", "strategic", "endpoint"), (listed.Severity, listed.Kind, listed.TargetKind));
        // The runaway never became the baseline: after two minutes of it, the whole window is 8×.
        Assert.InRange(listed.Value, 7.5, 8.5);
        Assert.Single(h.Notices.Of(EndpointAlertRules.OutputLengthRule));

        // Back to normal: resolved once the window forgets.
        for (var i = 0; i < 15; i++)
        {
            await h.ReportAsync("prim", "chat", 50, outputTokens: 100);
            await h.AdvanceAsync(TimeSpan.FromSeconds(10));
        }

        await h.Notices.WaitAsync(EndpointAlertRules.OutputLengthRule, AlertState.Resolved);
    }

    [Fact]
    public async Task The_fleet_seed_judges_the_first_answers_and_normal_answers_raise_nothing()
    {
        await using var h = await AlertHarness.StartAsync(_time, _storage);

        // side is seeded with 100 output tokens per answer: 30 answers of 350 (3.5×) in its first 10 s open a ticket;
        // prim (no seed, no history) answering 800 from the start raises nothing: there is no normal to compare with.
        await h.ReportAsync("side", "jobs", 30, outputTokens: 350);
        await h.ReportAsync("prim", "chat", 30, outputTokens: 800);
        await h.AdvanceAsync(TimeSpan.FromSeconds(10));

        var ticket = await h.Notices.WaitAsync(EndpointAlertRules.OutputLengthRule, AlertState.Firing);
        Assert.Equal("side", ticket.TargetId);
        Assert.Equal(3.5, ticket.Value, 3);
        await h.AdvanceAsync(TimeSpan.FromSeconds(30));
        Assert.All(h.Notices.Of(EndpointAlertRules.OutputLengthRule), n => Assert.Equal("side", n.TargetId));
    }

    public void Dispose() => _storage.Dispose();
}
