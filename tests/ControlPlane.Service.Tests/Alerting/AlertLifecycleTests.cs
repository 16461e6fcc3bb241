using System.Diagnostics.Metrics;
using ControlPlane.Service.Admin;
using ControlPlane.Service.Alerting;
using ControlPlane.Service.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Wire = ControlPlane.Contracts.V1;

namespace ControlPlane.Service.Tests.Alerting;

/// <summary>What the alert state machine keeps across restarts, what it republishes, the default notifier's log line,
/// the gauge and the list's filter.</summary>
public sealed class AlertLifecycleTests : IDisposable
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 6, 9, 0, 0, TimeSpan.Zero));
    private readonly TestStorage _storage = new();

    [Fact]
    public async Task A_firing_alert_survives_a_restart_and_its_resolution_carries_on_its_sequence()
    {
        await using (var h = await AlertHarness.StartAsync(_time, _storage))
        {
            await h.ReportAsync("prim", "chat", 27);
            await h.ReportAsync("prim", "chat", 3, Wire.OutcomeStatus.ServerError);
            await h.AdvanceAsync(TimeSpan.FromSeconds(10));
            await h.Notices.WaitAsync("provider-error-rate", AlertState.Firing);
        }

        // A new node on the same storage: the alert is there before any evaluation, and not published again.
        await using var again = await AlertHarness.StartAsync(_time, _storage);
        var listed = Assert.Single((await again.ListAsync("firing")).Alerts, a => a.Rule == "provider-error-rate");
        Assert.Equal(("prim", 1L, "page"), (listed.TargetId, listed.Sequence, listed.Severity));
        Assert.Empty(again.Notices.Of("provider-error-rate"));

        // Its health window starts empty: the first evaluation resolves it, as change 2 of the same key.
        await again.AdvanceAsync(TimeSpan.FromSeconds(10));
        var resolved = await again.Notices.WaitAsync("provider-error-rate", AlertState.Resolved);
        Assert.Equal(("provider-error-rate:endpoint:prim", 2L), (resolved.Key, resolved.Sequence));
    }

    [Fact]
    public async Task A_notice_the_notifier_did_not_accept_is_republished_by_the_next_activation_with_the_same_sequence()
    {
        var refusing = new CapturingNotifier(refuseFirst: 1000);
        await using (var h = await AlertHarness.StartAsync(_time, _storage, refusing))
        {
            await h.AdvanceAsync(TimeSpan.FromSeconds(10));
            await h.WaitListedAsync("deprecation-notice", "firing");
            Assert.Empty(refusing.Notices);
        }

        await using var again = await AlertHarness.StartAsync(_time, _storage);
        await again.ListAsync();
        var republished = await again.Notices.WaitAsync("deprecation-notice", AlertState.Firing);
        Assert.Equal(("deprecation-notice:endpoint:lab", 1L), (republished.Key, republished.Sequence));
        await again.AdvanceAsync(TimeSpan.FromSeconds(30));
        Assert.Single(again.Notices.Of("deprecation-notice"));
    }

    [Fact]
    public async Task The_default_notifier_writes_one_log_line_per_state_change_and_the_gauge_counts_active_alerts()
    {
        var logs = new CapturedLogs();
        var measured = new List<(long Value, string Rule, string Severity, string State)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == AlertGauge.MeterName && instrument.Name == "controlplane.alerts.active")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            var named = new Dictionary<string, string>();
            foreach (var t in tags)
            {
                named[t.Key] = (string)t.Value!;
            }

            lock (measured)
            {
                measured.Add((value, named.GetValueOrDefault("controlplane.alert.rule", ""), named.GetValueOrDefault("controlplane.alert.severity", ""),
                    named.GetValueOrDefault("controlplane.alert.state", "")));
            }
        });
        listener.Start();

        await using var node = await ServiceNode.StartAsync(_time, _storage, ServiceNode.Fleet(AlertHarness.Fleet),
            configureSilo: s => s.Services.AddSingleton<ILoggerProvider>(logs));
        _time.Advance(TimeSpan.FromSeconds(10));
        var line = await Eventually.WaitAsync(() => Task.FromResult(logs.Entries.FirstOrDefault(e => e.Message.StartsWith("Alert deprecation-notice firing", StringComparison.Ordinal))),
            e => e.Message is not null, 3000);
        Assert.Equal(LogLevel.Warning, line.Level);
        Assert.Contains("deprecation-notice:endpoint:lab #1, owner ml-infra, on-call ml-oncall", line.Message, StringComparison.Ordinal);
        Assert.Contains("runbook docs/runbooks/deprecation-notice.md", line.Message, StringComparison.Ordinal);

        _time.Advance(TimeSpan.FromSeconds(10));
        await Task.Delay(200);
        Assert.Single(logs.Entries, e => e.Message.StartsWith("Alert deprecation-notice", StringComparison.Ordinal));

        listener.RecordObservableInstruments();
        lock (measured)
        {
            Assert.Contains((1L, "deprecation-notice", "ticket", "firing"), measured);
        }
    }

    [Fact]
    public async Task Another_notifier_replaces_the_logging_one_and_every_accepted_change_is_still_logged_once()
    {
        var logs = new CapturedLogs();
        await using var h = await AlertHarness.StartAsync(_time, _storage, logs: logs);
        await h.AdvanceAsync(TimeSpan.FromSeconds(10));
        await h.Notices.WaitAsync("deprecation-notice", AlertState.Firing);
        await Eventually.WaitAsync(() => Task.FromResult(logs.Entries.Count(e => e.Message.StartsWith("Alert deprecation-notice firing", StringComparison.Ordinal))),
            n => n > 0, 3000);
        await h.AdvanceAsync(TimeSpan.FromSeconds(30));

        Assert.Single(h.Notices.Of("deprecation-notice"));
        Assert.Single(logs.Entries, e => e.Message.StartsWith("Alert deprecation-notice", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_list_filters_by_state_and_refuses_an_unknown_one_naming_the_field()
    {
        await using var h = await AlertHarness.StartAsync(_time, _storage);
        await h.AdvanceAsync(TimeSpan.FromSeconds(10));
        await h.WaitListedAsync("deprecation-notice", "firing");

        Assert.Contains((await h.ListAsync()).Alerts, a => a.Rule == "deprecation-notice");
        Assert.Contains((await h.ListAsync("firing")).Alerts, a => a.Rule == "deprecation-notice");
        Assert.DoesNotContain((await h.ListAsync("pending")).Alerts, a => a.Rule == "deprecation-notice");
        Assert.DoesNotContain((await h.ListAsync("resolved")).Alerts, a => a.Rule == "deprecation-notice");
        var error = await Assert.ThrowsAsync<AdminException>(() => h.ListAsync("burning"));
        Assert.Equal((AdminErrorKind.Invalid, "state"), (error.Kind, error.Field));
    }

    public void Dispose() => _storage.Dispose();
}
