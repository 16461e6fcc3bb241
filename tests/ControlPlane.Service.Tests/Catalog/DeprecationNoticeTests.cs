using ControlPlane.Service.Catalog;
using ControlPlane.Service.Grains;
using ControlPlane.Service.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace ControlPlane.Service.Tests.Catalog;

/// <summary>Deprecation notices at 90, 30 and 7 days and past due: raised once per stage by the fleet grain on a clock
/// (the nodes' <see cref="DeprecationWatcher"/>), logged at Warning with owner team and on-call, persisted so a restart
/// does not raise them again; and every endpoint within 90 days is logged at start.</summary>
public sealed class DeprecationNoticeTests : IDisposable
{
    // Sample fleet: openai-gpt4o-us is retired 2026-12-31, google-gemini-flash-eu 2027-02-05.
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 9, 1, 8, 0, 0, TimeSpan.Zero));
    private readonly TestStorage _storage = new();

    [Fact]
    public async Task Each_stage_is_raised_once_logged_for_the_owner_and_not_repeated_after_a_restart()
    {
        // Each date is a fresh start of the node on the same storage (moving a running node's fake clock by months would
        // run every grain and node timer through those months); the watcher raises at start, the test asks again.
        var (raised, logs) = await RunAtAsync(new DateTimeOffset(2026, 9, 1, 8, 0, 0, TimeSpan.Zero));
        Assert.Empty(raised);

        // 2026-10-02: 90 days before.
        (raised, logs) = await RunAtAsync(new DateTimeOffset(2026, 10, 2, 8, 0, 0, TimeSpan.Zero));
        var notice = Assert.Single(raised);
        Assert.Equal(("openai-gpt4o-us", "90d", 90, "openai-gpt41-us", "platform-ai", "#ai-platform-oncall"),
            (notice.EndpointId, notice.Stage, notice.DaysLeft, notice.MigrateTo, notice.OwnerTeam, notice.OnCall));
        Assert.Equal(
            "Deprecation notice 90d for endpoint openai-gpt4o-us: its pinned version is retired on 2026-12-31 (90 days left); "
            + "migrate to openai-gpt41-us; routed to owner platform-ai, on-call #ai-platform-oncall.", Assert.Single(Notices(logs)));

        // Restarted the same day: persisted, so not raised (or logged) again.
        (raised, logs) = await RunAtAsync(new DateTimeOffset(2026, 10, 2, 20, 0, 0, TimeSpan.Zero));
        Assert.Single(raised);
        Assert.Empty(Notices(logs));

        // 2026-12-01: 30 days before the first, 66 before the second.
        (raised, logs) = await RunAtAsync(new DateTimeOffset(2026, 12, 1, 8, 0, 0, TimeSpan.Zero));
        Assert.Equal([("openai-gpt4o-us", "30d"), ("google-gemini-flash-eu", "90d")], raised.Select(n => (n.EndpointId, n.Stage)));
        Assert.Equal(2, Notices(logs).Count);

        // After a gap (the 7-day stage passed while the cluster was down) only the current stage is raised: past due. The
        // other endpoint is still in its 90-day stage (34 days out), already raised.
        (raised, logs) = await RunAtAsync(new DateTimeOffset(2027, 1, 2, 8, 0, 0, TimeSpan.Zero));
        Assert.Equal([("openai-gpt4o-us", "past", -2), ("google-gemini-flash-eu", "90d", 66)], raised.Select(n => (n.EndpointId, n.Stage, n.DaysLeft)));
        Assert.Equal(["Deprecation notice past for endpoint openai-gpt4o-us"], Notices(logs).Select(m => m[..m.IndexOf(':', StringComparison.Ordinal)]));
    }

    [Fact]
    public async Task The_watcher_raises_notices_on_its_clock_and_logs_every_endpoint_within_90_days_at_start()
    {
        // 2026-12-23 23:59 UTC: gpt-4o is 8 days out (30-day stage), gemini flash 44.
        _time.SetUtcNow(new DateTimeOffset(2026, 12, 23, 23, 59, 0, TimeSpan.Zero));
        var logs = new CapturedLogs();
        await using var node = await StartAsync(logs);
        var fleet = node.Grains.GetGrain<IFleetGrain>(FleetGrain.Key);

        Assert.Equal(
            [
                "Endpoint openai-gpt4o-us is deprecated on 2026-12-31 (8 days left); migrate to openai-gpt41-us; owner platform-ai, on-call #ai-platform-oncall.",
                "Endpoint google-gemini-flash-eu is deprecated on 2027-02-05 (44 days left); migrate to openai-gpt41mini-us; owner data-platform, on-call #data-platform-oncall.",
            ],
            logs.Entries.Where(e => e.Category == typeof(DeprecationWatcher).FullName && e.Level == LogLevel.Warning).Select(e => e.Message));

        // Nobody called the grain: the watcher did, at start.
        var raised = await Eventually.WaitAsync(fleet.GetRaisedNoticesAsync, n => n.Count == 2, 1000);
        Assert.Equal([("openai-gpt4o-us", "30d"), ("google-gemini-flash-eu", "90d")], raised.Select(n => (n.EndpointId, n.Stage)));

        // Past midnight (7 days out) the watcher's post-midnight check raises the next stage.
        _time.Advance(TimeSpan.FromSeconds(62));
        raised = await Eventually.WaitAsync(fleet.GetRaisedNoticesAsync, n => n[0].Stage == "7d", 1000);
        Assert.Equal(("7d", 7), (raised[0].Stage, raised[0].DaysLeft));
    }

    [Fact]
    public void Due_lists_the_endpoints_within_90_days_or_past_in_fleet_order()
    {
        var fleet = ServiceNode.SampleFleet();
        Assert.Empty(DeprecationWatcher.Due(fleet, new DateOnly(2026, 10, 1)));
        Assert.Equal([("openai-gpt4o-us", 90)], DeprecationWatcher.Due(fleet, new DateOnly(2026, 10, 2)).Select(d => (d.Endpoint.Id, d.DaysLeft)));
        Assert.Equal([("openai-gpt4o-us", -401), ("google-gemini-flash-eu", -365)],
            DeprecationWatcher.Due(fleet, new DateOnly(2028, 2, 5)).Select(d => (d.Endpoint.Id, d.DaysLeft)));
    }

    public void Dispose() => _storage.Dispose();

    private Task<ServiceNode> StartAsync(CapturedLogs logs) =>
        ServiceNode.StartAsync(_time, _storage, configureSilo: s => s.Services.AddSingleton<ILoggerProvider>(logs));

    // Starts the node at `at`, raises what is due (the watcher may have done so first) and reads back what is raised.
    private async Task<(IReadOnlyList<DeprecationNotice> Raised, CapturedLogs Logs)> RunAtAsync(DateTimeOffset at)
    {
        _time.SetUtcNow(at);
        var logs = new CapturedLogs();
        await using var node = await StartAsync(logs);
        var fleet = node.Grains.GetGrain<IFleetGrain>(FleetGrain.Key);
        await fleet.RaiseDueNoticesAsync();
        return (await fleet.GetRaisedNoticesAsync(), logs);
    }

    private static List<string> Notices(CapturedLogs logs) =>
        [.. logs.Entries.Where(e => e.Level == LogLevel.Warning && e.Message.StartsWith("Deprecation notice", StringComparison.Ordinal)).Select(e => e.Message)];
}
