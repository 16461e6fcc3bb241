using ControlPlane.Domain.Slo;
using ControlPlane.Service.Alerting;
using ControlPlane.Service.Catalog;
using ControlPlane.Service.Security;
using ControlPlane.Service.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Wire = ControlPlane.Contracts.V1;

namespace ControlPlane.Service.Tests.Alerting;

/// <summary>The endpoint grain's alert rules on synthetic outcome streams reported through the routing node, with the
/// fake clock driving the grains' evaluation timers: each fires and resolves, thresholds come from the fleet file.</summary>
public sealed class ProviderAlertTests : IDisposable
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 6, 9, 0, 0, TimeSpan.Zero));
    private readonly TestStorage _storage = new();

    [Fact]
    public async Task Provider_error_rate_pages_escalates_to_critical_on_the_same_key_and_resolves()
    {
        await using var h = await AlertHarness.StartAsync(_time, _storage);

        // 3 of 30 (10 %): above the class's 2 % and the seed's 5 %, under the 15 % critical line.
        await h.ReportAsync("prim", "chat", 27);
        await h.ReportAsync("prim", "chat", 3, Wire.OutcomeStatus.ServerError);
        await h.AdvanceAsync(TimeSpan.FromSeconds(10));
        var page = await h.Notices.WaitAsync("provider-error-rate", AlertState.Firing, AlertSeverity.Page);
        Assert.Equal(("provider-error-rate:endpoint:prim", AlertKind.Tactical, 1L, "ai-platform", "#ai-oncall"),
            (page.Key, page.Kind, page.Sequence, page.OwnerTeam, page.OnCall));
        Assert.Equal(["chat"], page.WorkloadClasses);
        Assert.Equal("docs/runbooks/provider-error-rate.md", page.Runbook);
        Assert.Equal(0.1, page.Value, 3);

        // Another evaluation with the same condition publishes nothing new.
        await h.AdvanceAsync(TimeSpan.FromSeconds(30));
        Assert.Single(h.Notices.Of("provider-error-rate"));

        // Past 15 %: the same key escalates, as a new state change.
        await h.ReportAsync("prim", "chat", 10, Wire.OutcomeStatus.ServerError);
        await h.AdvanceAsync(TimeSpan.FromSeconds(10));
        var critical = await h.Notices.WaitAsync("provider-error-rate", AlertState.Firing, AlertSeverity.Critical);
        Assert.Equal((page.Key, 2L, page.StartedAt), (critical.Key, critical.Sequence, critical.StartedAt));
        Assert.Equal(("critical", "tactical", "endpoint"), Assert.Single((await h.ListAsync("firing")).Alerts, a => a.Rule == "provider-error-rate") is var v
            ? (v.Severity, v.Kind, v.TargetKind) : default);

        // The failures leave the five-minute window: resolved once.
        await h.AdvanceAsync(TimeSpan.FromMinutes(6));
        var resolved = await h.Notices.WaitAsync("provider-error-rate", AlertState.Resolved);
        Assert.Equal(3L, resolved.Sequence);
        Assert.Equal(3, h.Notices.Of("provider-error-rate").Count);
        Assert.DoesNotContain((await h.ListAsync()).Alerts, a => a.Rule == "provider-error-rate");
        Assert.Contains((await h.ListAsync("resolved")).Alerts, a => a.Key == page.Key && a.State == "resolved");
    }

    [Fact]
    public async Task Thresholds_come_from_the_endpoint_then_the_strictest_class_then_the_fleet_and_production_gates_the_error_rate()
    {
        await using var h = await AlertHarness.StartAsync(_time, _storage);

        // prim: 1 of 30 (3.3 %) fires through chat's own 2 % (the seed's 5 % would not).
        await h.ReportAsync("prim", "chat", 29);
        await h.ReportAsync("prim", "chat", 1, Wire.OutcomeStatus.ServerError);
        // side: 3 of 30 served failed (10 %) stays under its own 20 %; 3 of 33 429s (9 %) is over the fleet's 5 %.
        await h.ReportAsync("side", "jobs", 27);
        await h.ReportAsync("side", "jobs", 3, Wire.OutcomeStatus.ServerError);
        await h.ReportAsync("side", "jobs", 3, Wire.OutcomeStatus.RateLimited);
        // back: 1 of 30 429s (3.3 %) is under the fleet's 5 % (the seed's 2 % would fire).
        await h.ReportAsync("back", "chat", 29);
        await h.ReportAsync("back", "chat", 1, Wire.OutcomeStatus.RateLimited);
        // lab: half failing, but only the non-production research class uses it.
        await h.ReportAsync("lab", "research", 15);
        await h.ReportAsync("lab", "research", 15, Wire.OutcomeStatus.ServerError);
        await h.AdvanceAsync(TimeSpan.FromSeconds(10));

        Assert.Equal("prim", (await h.Notices.WaitAsync("provider-error-rate", AlertState.Firing)).TargetId);
        var limited = await h.Notices.WaitAsync("provider-rate-limited", AlertState.Firing);
        Assert.Equal(("side", 0.05), (limited.TargetId, limited.Threshold));
        await h.AdvanceAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(["prim"], h.Notices.Of("provider-error-rate").Select(n => n.TargetId));
        Assert.Equal(["side"], h.Notices.Of("provider-rate-limited").Select(n => n.TargetId));

        // The 429 share's two-minute window passes: resolved.
        await h.AdvanceAsync(TimeSpan.FromMinutes(3));
        Assert.Equal(2L, (await h.Notices.WaitAsync("provider-rate-limited", AlertState.Resolved)).Sequence);
    }

    [Fact]
    public async Task Provider_latency_p95_is_pending_until_it_held_three_minutes_then_fires_and_resolves()
    {
        await using var h = await AlertHarness.StartAsync(_time, _storage);

        // 500 ms against the seeded 100 ms baseline, reported every 30 s.
        await h.ReportAsync("prim", "chat", 25, latencyMs: 500);
        await h.AdvanceAsync(TimeSpan.FromSeconds(10));
        var pending = await h.WaitListedAsync("provider-latency-p95", "pending");
        Assert.NotNull(pending);
        Assert.Empty(h.Notices.Of("provider-latency-p95"));

        for (var i = 0; i < 10 && h.Notices.Of("provider-latency-p95").Count == 0; i++)
        {
            await h.ReportAsync("prim", "chat", 25, latencyMs: 500);
            await h.AdvanceAsync(TimeSpan.FromSeconds(30));
        }

        var firing = await h.Notices.WaitAsync("provider-latency-p95", AlertState.Firing);
        Assert.True(firing.ChangedAt - firing.StartedAt >= TimeSpan.FromMinutes(3), $"fired after {firing.ChangedAt - firing.StartedAt}");
        Assert.Equal((1L, pending!.StartedAt), (firing.Sequence, firing.StartedAt));

        // Fast again for a minute: the p95 of the last minute is back under 2x.
        for (var i = 0; i < 4; i++)
        {
            await h.ReportAsync("prim", "chat", 25, latencyMs: 50);
            await h.AdvanceAsync(TimeSpan.FromSeconds(20));
        }

        Assert.Equal(2L, (await h.Notices.WaitAsync("provider-latency-p95", AlertState.Resolved)).Sequence);
    }

    [Fact]
    public async Task Fallback_quality_decline_compares_the_newest_day_with_the_rest_of_the_window()
    {
        await using var h = await AlertHarness.StartAsync(_time, _storage, configure: o => o.EvaluationPeriod = TimeSpan.FromMinutes(5));

        // back serves chat's and jobs' fallbacks: yesterday all passed, today half fail.
        await h.ReportAsync("back", "jobs", 30, quality: Wire.QualityVerdict.Pass);
        await h.AdvanceAsync(TimeSpan.FromDays(1), TimeSpan.FromHours(1));
        await h.ReportAsync("back", "jobs", 15, quality: Wire.QualityVerdict.Pass);
        await h.ReportAsync("back", "jobs", 15, quality: Wire.QualityVerdict.Fail);
        await h.AdvanceAsync(TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(5));
        var firing = await h.Notices.WaitAsync("fallback-quality-decline", AlertState.Firing);
        Assert.Equal((AlertKind.Strategic, AlertSeverity.Ticket, "back"), (firing.Kind, firing.Severity, firing.TargetId));
        Assert.Equal(0.5, firing.Value, 3);

        // A new day without verdicts: nothing to compare, resolved.
        await h.AdvanceAsync(TimeSpan.FromDays(1), TimeSpan.FromHours(1));
        Assert.Equal(2L, (await h.Notices.WaitAsync("fallback-quality-decline", AlertState.Resolved)).Sequence);
    }

    [Fact]
    public async Task Deprecation_notice_and_model_version_change_are_strategic_and_an_acknowledgement_resolves_the_change()
    {
        await using var h = await AlertHarness.StartAsync(_time, _storage);

        await h.ReportAsync("lab", "research", 1, returnedModelVersion: "llama-3-r2");
        await h.AdvanceAsync(TimeSpan.FromSeconds(10));
        var deprecation = await h.Notices.WaitAsync("deprecation-notice", AlertState.Firing);
        Assert.Equal((AlertKind.Strategic, AlertSeverity.Ticket, 40.0, "ml-infra"), (deprecation.Kind, deprecation.Severity, deprecation.Value, deprecation.OwnerTeam));
        var change = await h.Notices.WaitAsync("model-version-change", AlertState.Firing);
        Assert.Contains("llama-3-r2", change.Summary, StringComparison.Ordinal);

        await h.Node.Services.GetRequiredService<CatalogOperations>()
            .AcknowledgeModelChangeAsync("lab", "known rollout", TestActors.Named("olga", Roles.Operator));
        await h.AdvanceAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(2L, (await h.Notices.WaitAsync("model-version-change", AlertState.Resolved)).Sequence);
        Assert.Single(h.Notices.Of("deprecation-notice"));
    }

    public void Dispose() => _storage.Dispose();
}
