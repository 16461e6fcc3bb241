using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text.Json;
using ControlPlane.Service.Admin;
using ControlPlane.Service.Alerting;
using ControlPlane.Service.Alerting.Delivery;
using ControlPlane.Service.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using static ControlPlane.Service.Tests.Alerting.AlertFleet;

namespace ControlPlane.Service.Tests.Alerting;

public sealed class AlertDeliveryTests : IAsyncLifetime
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 3, 2, 9, 0, 0, TimeSpan.Zero));
    private readonly TestStorage _storage = new();
    private AlertReceiverServer _receiver = null!;
    private ServiceNode? _node;

    public async Task InitializeAsync() => _receiver = await AlertReceiverServer.StartAsync(_time);

    public async Task DisposeAsync()
    {
        if (_node is not null)
        {
            await _node.DisposeAsync();
        }

        await _receiver.DisposeAsync();
        _storage.Dispose();
    }

    [Fact]
    public async Task An_endpoint_alert_reaches_the_webhook_pagerduty_and_slack_receivers_with_their_shapes()
    {
        var node = await StartAsync();
        var at = _time.GetUtcNow();

        await node.Notifier().PublishAsync(EndpointNotice("ep-a", AlertState.Firing, 1, at, classes: ["chat"]));
        Assert.True(await PumpUntilAsync(_time, () => _receiver.Received.Count >= 3), Describe());

        // Endpoint owner (platform-ai: webhook and PagerDuty) and the owner of the class routed to it (support-eng: Slack).
        var hook = Assert.Single(_receiver.At("/platform")).Body;
        Assert.Equal("application/json; charset=utf-8", _receiver.At("/platform")[0].ContentType);
        Assert.Equal("firing", hook.GetProperty("status").GetString());
        Assert.Equal("platform-ai", hook.GetProperty("team").GetString());
        Assert.Equal("hook", hook.GetProperty("receiver").GetString());
        Assert.Equal("provider-error-rate:endpoint:ep-a", hook.GetProperty("key").GetString());
        Assert.Equal(("tactical", "page", "endpoint", "ep-a"), (hook.GetProperty("kind").GetString(), hook.GetProperty("severity").GetString(),
            hook.GetProperty("targetKind").GetString(), hook.GetProperty("targetId").GetString()));
        Assert.Equal(["chat"], hook.GetProperty("workloadClasses").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal((0.12, 0.05, 300L, 1L), (hook.GetProperty("value").GetDouble(), hook.GetProperty("threshold").GetDouble(),
            hook.GetProperty("windowSeconds").GetInt64(), hook.GetProperty("sequence").GetInt64()));
        Assert.Equal(RunbookBase + "provider-error-rate.md", hook.GetProperty("runbook").GetString());
        Assert.Equal(at, hook.GetProperty("changedAt").GetDateTimeOffset());

        var pd = Assert.Single(_receiver.At("/pd")).Body;
        Assert.Equal("R0UT1NGKEY", pd.GetProperty("routing_key").GetString());
        Assert.Equal("trigger", pd.GetProperty("event_action").GetString());
        Assert.Equal("provider-error-rate:endpoint:ep-a", pd.GetProperty("dedup_key").GetString());
        var payload = pd.GetProperty("payload");
        foreach (string required in (string[])["summary", "source", "severity"])
        {
            Assert.False(string.IsNullOrEmpty(payload.GetProperty(required).GetString()), required);
        }

        Assert.Equal("error", payload.GetProperty("severity").GetString());
        Assert.Equal("2026-03-02T09:00:00.000Z", payload.GetProperty("timestamp").GetString());
        Assert.Equal(("ep-a", "platform-ai", "provider-error-rate"), (payload.GetProperty("component").GetString(),
            payload.GetProperty("group").GetString(), payload.GetProperty("class").GetString()));
        Assert.Equal("chat", payload.GetProperty("custom_details").GetProperty("workload_classes").GetString());
        Assert.Equal(RunbookBase + "provider-error-rate.md", Assert.Single(pd.GetProperty("links").EnumerateArray()).GetProperty("href").GetString());

        var slack = Assert.Single(_receiver.At("/support")).Body;
        Assert.StartsWith("[FIRING] provider-error-rate on endpoint ep-a (page)", slack.GetProperty("text").GetString());
        var blocks = slack.GetProperty("blocks").EnumerateArray().ToList();
        Assert.Equal(["header", "section", "context"], blocks.Select(b => b.GetProperty("type").GetString()));
        string fields = string.Join("\n", blocks[1].GetProperty("fields").EnumerateArray().Select(f => f.GetProperty("text").GetString()));
        Assert.Contains("0.12 vs threshold 0.05", fields);
        Assert.Contains("*Owner*\nplatform-ai", fields);
        Assert.Contains("*On-call*\n#ai-oncall", fields);
        Assert.Contains($"<{RunbookBase}provider-error-rate.md|Runbook>", blocks[2].GetProperty("elements")[0].GetProperty("text").GetString());

        // Resolved: PagerDuty resolves the same dedup key.
        await node.Notifier().PublishAsync(EndpointNotice("ep-a", AlertState.Resolved, 2, _time.GetUtcNow(), classes: ["chat"]));
        Assert.True(await PumpUntilAsync(_time, () => _receiver.At("/pd").Count >= 2), Describe());
        var resolve = _receiver.At("/pd")[1].Body;
        Assert.Equal(("resolve", "provider-error-rate:endpoint:ep-a"), (resolve.GetProperty("event_action").GetString(), resolve.GetProperty("dedup_key").GetString()));
        Assert.True(await PumpUntilAsync(_time, () => _receiver.At("/support").Count >= 2 && _receiver.At("/platform").Count >= 2), Describe());
        Assert.StartsWith("[RESOLVED]", _receiver.At("/support")[1].Body.GetProperty("text").GetString());
        Assert.Equal("resolved", _receiver.At("/platform")[1].Body.GetProperty("status").GetString());
    }

    [Fact]
    public async Task A_class_alert_goes_to_its_owner_only_strategic_never_pages_and_pending_is_not_delivered()
    {
        var node = await StartAsync();
        var at = _time.GetUtcNow();

        await node.Notifier().PublishAsync(ClassNotice("legal", "legal-tech", AlertState.Pending, 1, at));
        await node.Notifier().PublishAsync(ClassNotice("legal", "legal-tech", AlertState.Firing, 2, at));
        // A strategic endpoint alert: the webhook of platform-ai takes it, its PagerDuty receiver (tactical only) does not.
        await node.Notifier().PublishAsync(EndpointNotice("ep-b", AlertState.Firing, 1, at, rule: "model-version-change", kind: AlertKind.Strategic,
            severity: Domain.Slo.AlertSeverity.Ticket));
        Assert.True(await PumpUntilAsync(_time, () => _receiver.At("/legal").Count >= 1 && _receiver.At("/platform").Count >= 1), Describe());
        await PumpUntilAsync(_time, () => false, maxSteps: 20);

        var legal = Assert.Single(_receiver.At("/legal")).Body;
        Assert.Equal(("firing", 2L, "class", "legal-tech"), (legal.GetProperty("status").GetString(), legal.GetProperty("sequence").GetInt64(),
            legal.GetProperty("targetKind").GetString(), legal.GetProperty("team").GetString()));
        Assert.Equal("model-version-change", Assert.Single(_receiver.At("/platform")).Body.GetProperty("rule").GetString());
        Assert.Empty(_receiver.At("/pd"));
        Assert.Empty(_receiver.At("/support"));
        Assert.Equal(2, _receiver.Received.Count);

        // The Slack receiver of legal-tech has its variable unset: disabled, and said so.
        var view = await node.DeliveriesAsync("legal-tech");
        var unset = Assert.Single(view.Receivers, r => r.Name == "unset");
        Assert.False(unset.Enabled);
        Assert.Contains("CP_TEST_UNSET_SLACK_URL_7F3A", unset.LastError);
        Assert.Equal((1L, 0L, 0), (view.Delivered, view.Failed, view.Queued));
    }

    [Fact]
    public async Task A_receiver_failing_three_times_gets_the_notice_on_the_fourth_try_with_growing_delays()
    {
        var node = await StartAsync();
        var counted = new List<(string Type, string Result)>();
        var meters = node.Services.GetRequiredService<IMeterFactory>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Name == AlertDeliveryMetrics.InstrumentName && instrument.Meter.Scope == meters)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, _, tags, _) =>
        {
            lock (counted)
            {
                counted.Add(((string)tags[0].Value!, (string)tags[1].Value!));
            }
        });
        listener.Start();
        _receiver.Script("/legal", ReceiverReply.ServerError, ReceiverReply.DropConnection, ReceiverReply.ServerError, ReceiverReply.Ok);

        await node.Notifier().PublishAsync(ClassNotice("legal", "legal-tech", AlertState.Firing, 1, _time.GetUtcNow()));
        Assert.True(await PumpUntilAsync(_time, () => _receiver.At("/legal").Count >= 4, step: TimeSpan.FromMilliseconds(50), maxSteps: 3_000), Describe());
        var tries = _receiver.At("/legal");
        Assert.Equal([ReceiverReply.ServerError, ReceiverReply.DropConnection, ReceiverReply.ServerError, ReceiverReply.Ok], tries.Select(t => t.Reply));
        var gaps = tries.Zip(tries.Skip(1), (a, b) => (b.FakeTime - a.FakeTime).TotalSeconds).ToList();
        // 2 s, 4 s, 8 s less up to 20 % jitter, counted from the end of the previous attempt: never shorter; a busy
        // machine answering slowly (while the pump moves the fake clock on in 50 ms steps) can only make them longer.
        Assert.InRange(gaps[0], 1.59, 3.2);
        Assert.InRange(gaps[1], 3.19, 5.6);
        Assert.InRange(gaps[2], 6.39, 9.6);
        Assert.True(gaps[0] < gaps[1] && gaps[1] < gaps[2], string.Join(", ", gaps));
        Assert.All(tries, t => Assert.Equal(1, t.Body.GetProperty("sequence").GetInt64()));

        var view = await Eventually.WaitAsync(() => node.DeliveriesAsync("legal-tech"), v => v.Delivered == 1, 500);
        var hook = Assert.Single(view.Receivers, r => r.Name == "hook");
        Assert.Equal((1L, 0L, 3L, 0), (hook.Delivered, hook.Failed, hook.Retried, hook.Queued));
        Assert.Equal("HTTP 500 Internal Server Error", hook.LastError);
        await Eventually.WaitAsync(() => Task.FromResult(counted.Count), c => c >= 4, 500);
        lock (counted)
        {
            Assert.Equal([("webhook", "retried"), ("webhook", "retried"), ("webhook", "retried"), ("webhook", "delivered")], counted);
        }
    }

    [Fact]
    public async Task A_resolved_notice_never_overtakes_its_firing_one()
    {
        var node = await StartAsync();
        _receiver.Script("/legal", ReceiverReply.ServerError, ReceiverReply.DropConnection);
        var at = _time.GetUtcNow();

        await node.Notifier().PublishAsync(ClassNotice("legal", "legal-tech", AlertState.Firing, 1, at));
        await node.Notifier().PublishAsync(ClassNotice("legal", "legal-tech", AlertState.Resolved, 2, at));
        Assert.True(await PumpUntilAsync(_time, () => _receiver.At("/legal").Count >= 4), Describe());

        Assert.Equal([(1L, "firing"), (1L, "firing"), (1L, "firing"), (2L, "resolved")],
            _receiver.At("/legal").Select(r => (r.Body.GetProperty("sequence").GetInt64(), r.Body.GetProperty("status").GetString())));
    }

    [Fact]
    public async Task A_republished_notice_is_not_sent_twice()
    {
        var node = await StartAsync();
        var notice = ClassNotice("legal", "legal-tech", AlertState.Firing, 3, _time.GetUtcNow());

        await node.Notifier().PublishAsync(notice);
        await node.Notifier().PublishAsync(notice);
        Assert.True(await PumpUntilAsync(_time, () => _receiver.At("/legal").Count >= 1), Describe());
        await node.Notifier().PublishAsync(notice);
        await node.Notifier().PublishAsync(notice with { Sequence = 2, State = AlertState.Resolved });
        Assert.Equal(0, await node.Grains.GetGrain<IAlertOutboxGrain>("legal-tech").EnqueueAsync(notice));
        await PumpUntilAsync(_time, () => false, maxSteps: 30);

        Assert.Single(_receiver.At("/legal"));
    }

    [Fact]
    public async Task A_dead_receiver_delays_neither_publishing_nor_routing_nor_other_teams()
    {
        var node = await StartAsync();
        _receiver.Default("/platform", ReceiverReply.Hang);
        _receiver.Default("/pd", ReceiverReply.Hang);
        var at = _time.GetUtcNow();

        await node.Notifier().PublishAsync(EndpointNotice("ep-a", AlertState.Firing, 1, at, classes: ["chat"]));
        Assert.True(await PumpUntilAsync(_time, () => _receiver.At("/platform").Count >= 1 && _receiver.At("/pd").Count >= 1), Describe());

        // platform-ai's receivers hold their connections open; its outbox, other teams and Route carry on.
        var publish = Stopwatch.StartNew();
        await node.Notifier().PublishAsync(EndpointNotice("ep-b", AlertState.Firing, 1, at, classes: ["chat"]));
        await node.Notifier().PublishAsync(ClassNotice("legal", "legal-tech", AlertState.Firing, 1, at));
        Assert.InRange(publish.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(5));
        Assert.True(await PumpUntilAsync(_time, () => _receiver.At("/support").Count >= 2 && _receiver.At("/legal").Count >= 1, maxSteps: 200), Describe());
        var route = Stopwatch.StartNew();
        var decision = node.Route("chat");
        Assert.Equal("ep-a", decision.EndpointId);
        Assert.InRange(route.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(1));
        var view = await node.DeliveriesAsync("platform-ai");
        Assert.Equal(4, view.Queued);
    }

    [Fact]
    public async Task Queued_deliveries_survive_a_silo_restart()
    {
        var node = await StartAsync();
        _receiver.Default("/legal", ReceiverReply.ServerError);
        await node.Notifier().PublishAsync(ClassNotice("legal", "legal-tech", AlertState.Firing, 1, _time.GetUtcNow()));
        Assert.True(await PumpUntilAsync(_time, () => _receiver.At("/legal").Count >= 1), Describe());
        await node.StopAsync();
        await node.DisposeAsync();
        _node = null;

        _receiver.Default("/legal", ReceiverReply.Ok);
        node = await StartAsync();
        // Nothing is published on the new node: the outbox resumes from storage by itself.
        Assert.True(await PumpUntilAsync(_time, () => _receiver.At("/legal").Any(r => r.Reply == ReceiverReply.Ok), step: TimeSpan.FromMilliseconds(500)), Describe());
        var view = await Eventually.WaitAsync(() => node.DeliveriesAsync("legal-tech"), v => v.Delivered == 1, 500);
        Assert.Equal((1L, 0), (view.Delivered, view.Queued));
        // And it is still idempotent after the restart.
        Assert.Equal(0, await node.Grains.GetGrain<IAlertOutboxGrain>("legal-tech").EnqueueAsync(ClassNotice("legal", "legal-tech", AlertState.Firing, 1, _time.GetUtcNow())));
    }

    [Fact]
    public async Task A_delivery_is_given_up_after_the_maximum_age_and_kept_for_the_view()
    {
        var node = await StartAsync(o => o.MaxAge = TimeSpan.FromSeconds(20));
        _receiver.Default("/legal", ReceiverReply.ServerError);

        await node.Notifier().PublishAsync(ClassNotice("legal", "legal-tech", AlertState.Firing, 1, _time.GetUtcNow()));
        Assert.True(await PumpUntilAsync(_time, () => node.DeliveriesAsync("legal-tech").Result.Failed == 1), Describe());

        var view = await node.DeliveriesAsync("legal-tech");
        Assert.Equal(0, view.Queued);
        var failure = Assert.Single(view.RecentFailures);
        Assert.Equal(("fallback-activation:class:legal", 1L, "hook"), (failure.Key, failure.Sequence, failure.Receiver));
        Assert.StartsWith("gave up after", failure.Error);
        Assert.InRange(failure.GaveUpAt - failure.QueuedAt, TimeSpan.FromSeconds(20), TimeSpan.FromSeconds(22));
    }

    [Fact]
    public async Task A_test_notice_goes_to_every_enabled_receiver_of_the_team()
    {
        var node = await StartAsync();
        var ops = node.Services.GetRequiredService<AlertDeliveryOperations>();

        var result = await ops.SendTestAsync("platform-ai", "checking the pager", TestActors.Named("olga", ControlPlane.Service.Security.Roles.Operator));
        Assert.Equal(("platform-ai", 2), (result.Team, result.Queued));
        Assert.True(await PumpUntilAsync(_time, () => _receiver.At("/pd").Count == 1 && _receiver.At("/platform").Count == 1), Describe());
        var pd = _receiver.At("/pd")[0].Body.GetProperty("payload");
        Assert.Equal("info", pd.GetProperty("severity").GetString());
        Assert.Contains("checking the pager", pd.GetProperty("summary").GetString());
        Assert.True(_receiver.At("/platform")[0].Body.GetProperty("test").GetBoolean());

        Assert.Equal("team", (await Assert.ThrowsAsync<AdminException>(() => ops.SendTestAsync("nobody", "x", TestActors.Named("olga")))).Field);
        Assert.Equal(AdminErrorKind.NotFound, (await Assert.ThrowsAsync<AdminException>(() => ops.SendTestAsync("nobody", "x", TestActors.Named("olga")))).Kind);
        Assert.Equal("reason", (await Assert.ThrowsAsync<AdminException>(() => ops.SendTestAsync("platform-ai", " ", TestActors.Named("olga")))).Field);
        Assert.Equal("reason", (await Assert.ThrowsAsync<AdminException>(() => ops.SendTestAsync("platform-ai", new string('x', 501), TestActors.Named("olga")))).Field);
        var all = await ops.GetDeliveriesAsync();
        Assert.Equal(["platform-ai", "support-eng", "legal-tech"], all.Teams.Select(t => t.Team));
    }

    private async Task<ServiceNode> StartAsync(Action<AlertDeliveryOptions>? options = null)
    {
        _node = await ServiceNode.StartAsync(_time, _storage, Create(_receiver.BaseUrl), configureSilo: FastDelivery(options));
        return _node;
    }

    private string Describe() => "received: " + JsonSerializer.Serialize(_receiver.Received.Select(r => $"{r.Path} {r.Reply} @{r.FakeTime:HH:mm:ss.fff}"));
}
