using ControlPlane.Domain.Slo;
using ControlPlane.Service.Alerting;
using ControlPlane.Service.Tests.Support;
using Microsoft.Extensions.Time.Testing;
using Wire = ControlPlane.Contracts.V1;

namespace ControlPlane.Service.Tests.Alerting;

/// <summary>The class grain's alert rules on synthetic outcome streams reported through the routing node, with the
/// fake clock driving the grains' evaluation timers.</summary>
public sealed class ClassAlertTests : IDisposable
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 6, 9, 0, 0, TimeSpan.Zero));
    private readonly TestStorage _storage = new();

    [Fact]
    public async Task Workflow_failure_rate_fires_on_outcomes_that_carry_a_verdict_and_resolves_after_its_window()
    {
        await using var h = await AlertHarness.StartAsync(_time, _storage);

        // Outcomes without a verdict do not count; 1 failed of 30 verdicts (3.3 %) is over 1 %.
        await h.ReportAsync("prim", "chat", 50);
        await h.ReportAsync("prim", "chat", 29, workflow: Wire.WorkflowVerdict.Completed);
        await h.ReportAsync("prim", "chat", 1, workflow: Wire.WorkflowVerdict.Failed);
        await h.AdvanceAsync(TimeSpan.FromMinutes(1), TimeSpan.FromSeconds(30));
        var firing = await h.Notices.WaitAsync("workflow-failure-rate", AlertState.Firing);
        Assert.Equal(("workflow-failure-rate:class:chat", AlertTargetKind.WorkloadClass, "chat-team", AlertSeverity.Page),
            (firing.Key, firing.TargetKind, firing.OwnerTeam, firing.Severity));
        Assert.Equal(1.0 / 30, firing.Value, 4);

        await h.AdvanceAsync(TimeSpan.FromMinutes(11), TimeSpan.FromMinutes(1));
        Assert.Equal(2L, (await h.Notices.WaitAsync("workflow-failure-rate", AlertState.Resolved)).Sequence);
    }

    [Fact]
    public async Task Quality_slo_burn_fires_when_an_hour_burns_more_than_five_percent_of_the_monthly_budget()
    {
        await using var h = await AlertHarness.StartAsync(_time, _storage);

        // chat's quality objective is 99.9 %: 1 failure in 40 verdicts burns at 25x, 3.5 % of 30 days' budget in an
        // hour: not yet. 2 more: 3 in 42 burns at 71x, 9.9 % in an hour.
        await h.ReportAsync("prim", "chat", 39, quality: Wire.QualityVerdict.Pass);
        await h.ReportAsync("prim", "chat", 1, quality: Wire.QualityVerdict.Fail);
        await h.AdvanceAsync(TimeSpan.FromMinutes(1), TimeSpan.FromSeconds(30));
        await h.AdvanceAsync(TimeSpan.FromMinutes(1), TimeSpan.FromSeconds(30));
        Assert.Empty(h.Notices.Of("quality-slo-burn"));

        await h.ReportAsync("prim", "chat", 2, quality: Wire.QualityVerdict.Fail);
        await h.AdvanceAsync(TimeSpan.FromMinutes(1), TimeSpan.FromSeconds(30));
        var firing = await h.Notices.WaitAsync("quality-slo-burn", AlertState.Firing);
        Assert.Equal((AlertKind.Tactical, 0.05), (firing.Kind, firing.Threshold));
        Assert.InRange(firing.Value, 0.09, 0.11);

        await h.AdvanceAsync(TimeSpan.FromMinutes(61), TimeSpan.FromMinutes(1));
        Assert.Equal(2L, (await h.Notices.WaitAsync("quality-slo-burn", AlertState.Resolved)).Sequence);
    }

    [Fact]
    public async Task Fallback_activation_is_pending_until_sustained_for_thirty_minutes_then_fires_once_and_resolves()
    {
        await using var h = await AlertHarness.StartAsync(_time, _storage, configure: o => o.EvaluationPeriod = TimeSpan.FromMinutes(1));

        // A quarter of chat's outcomes on its fallback, every two minutes.
        async Task TwoMinutesAsync()
        {
            await h.ReportAsync("prim", "chat", 15);
            await h.ReportAsync("back", "chat", 5);
            await h.AdvanceAsync(TimeSpan.FromMinutes(2), TimeSpan.FromMinutes(1));
        }

        await TwoMinutesAsync();
        var pending = await h.WaitListedAsync("fallback-activation", "pending");
        Assert.Equal(("strategic", "ticket", "class"), (pending!.Kind, pending.Severity, pending.TargetKind));
        for (var i = 0; i < 13; i++)
        {
            await TwoMinutesAsync();
        }

        Assert.Empty(h.Notices.Of("fallback-activation"));
        for (var i = 0; i < 3; i++)
        {
            await TwoMinutesAsync();
        }

        var firing = await h.Notices.WaitAsync("fallback-activation", AlertState.Firing);
        Assert.True(firing.ChangedAt - firing.StartedAt >= TimeSpan.FromMinutes(30));
        await TwoMinutesAsync();
        Assert.Single(h.Notices.Of("fallback-activation"));

        // Back on the primary.
        for (var i = 0; i < 4; i++)
        {
            await h.ReportAsync("prim", "chat", 20);
            await h.AdvanceAsync(TimeSpan.FromMinutes(2), TimeSpan.FromMinutes(1));
        }

        Assert.Equal(2L, (await h.Notices.WaitAsync("fallback-activation", AlertState.Resolved)).Sequence);
        Assert.Equal(2, h.Notices.Of("fallback-activation").Count);
    }

    [Fact]
    public async Task Cost_per_success_above_its_baseline_fires_after_its_hold_and_resolves()
    {
        // jobs: baseline 1d, for 1h (class overrides). $1 per success for three hours, then $2.
        await using var h = await AlertHarness.StartAsync(_time, _storage, configure: o => o.EvaluationPeriod = TimeSpan.FromMinutes(5));
        for (var hour = 0; hour < 3; hour++)
        {
            await h.ReportAsync("side", "jobs", 20, inputTokens: 1000);
            await h.AdvanceAsync(TimeSpan.FromHours(1), TimeSpan.FromMinutes(10));
        }

        await h.ReportAsync("side", "jobs", 20, inputTokens: 2000);
        await h.AdvanceAsync(TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(5));
        Assert.NotNull(await h.WaitListedAsync("cost-per-success", "pending"));
        Assert.Empty(h.Notices.Of("cost-per-success"));
        await h.AdvanceAsync(TimeSpan.FromMinutes(50), TimeSpan.FromMinutes(10));
        await h.ReportAsync("side", "jobs", 20, inputTokens: 2000);
        await h.AdvanceAsync(TimeSpan.FromMinutes(20), TimeSpan.FromMinutes(10));
        var firing = await h.Notices.WaitAsync("cost-per-success", AlertState.Firing);
        Assert.Equal((AlertKind.Strategic, 0.2, TimeSpan.FromDays(1)), (firing.Kind, firing.Threshold, firing.Window));
        Assert.True(firing.ChangedAt - firing.StartedAt >= TimeSpan.FromHours(1));

        for (var hour = 0; hour < 3; hour++)
        {
            await h.ReportAsync("side", "jobs", 20, inputTokens: 1000);
            await h.AdvanceAsync(TimeSpan.FromHours(1), TimeSpan.FromMinutes(10));
        }

        Assert.Equal(2L, (await h.Notices.WaitAsync("cost-per-success", AlertState.Resolved)).Sequence);
    }

    [Fact]
    public async Task Primary_rate_limit_trend_fires_when_the_newer_half_of_the_window_has_more_429s_and_resolves()
    {
        // jobs: window 2h (class override), so halves of one hour.
        await using var h = await AlertHarness.StartAsync(_time, _storage, configure: o => o.EvaluationPeriod = TimeSpan.FromMinutes(5));
        await h.ReportAsync("side", "jobs", 30);
        await h.AdvanceAsync(TimeSpan.FromHours(1), TimeSpan.FromMinutes(10));
        await h.ReportAsync("side", "jobs", 25);
        await h.ReportAsync("side", "jobs", 5, Wire.OutcomeStatus.RateLimited);
        // Fallback outcomes are not the primaries' and do not count.
        await h.ReportAsync("back", "jobs", 30, Wire.OutcomeStatus.RateLimited);
        await h.AdvanceAsync(TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(5));
        var firing = await h.Notices.WaitAsync("primary-rate-limit-trend", AlertState.Firing);
        Assert.Equal((AlertKind.Strategic, "jobs", "jobs-team"), (firing.Kind, firing.TargetId, firing.OwnerTeam));
        Assert.Equal(5.0 / 30, firing.Value, 4);
        Assert.Equal(0, firing.Threshold);

        await h.AdvanceAsync(TimeSpan.FromHours(1), TimeSpan.FromMinutes(10));
        Assert.Equal(2L, (await h.Notices.WaitAsync("primary-rate-limit-trend", AlertState.Resolved)).Sequence);
    }

    [Fact]
    public async Task Slo_burn_rate_alerts_join_the_state_machine_under_their_names()
    {
        await using var h = await AlertHarness.StartAsync(_time, _storage);

        // Half of chat's requests unavailable: the fast availability burn pages.
        await h.ReportAsync("prim", "chat", 30);
        await h.ReportAsync("prim", "chat", 30, Wire.OutcomeStatus.ServerError);
        await h.AdvanceAsync(TimeSpan.FromMinutes(1), TimeSpan.FromSeconds(30));
        var burn = await Eventually.WaitAsync(() => Task.FromResult(h.Notices.Notices.FirstOrDefault(n => n.Rule.StartsWith("slo-availability-burn-", StringComparison.Ordinal))),
            n => n is not null, 3000);
        Assert.NotNull(burn);
        Assert.Equal((AlertState.Firing, AlertKind.Tactical, AlertSeverity.Page, $"{burn!.Rule}:class:chat"), (burn.State, burn.Kind, burn.Severity, burn.Key));
    }

    public void Dispose() => _storage.Dispose();
}
