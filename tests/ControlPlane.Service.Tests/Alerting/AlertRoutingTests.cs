using ControlPlane.Service.Alerting;
using ControlPlane.Service.Alerting.Delivery;
using ControlPlane.Service.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using static ControlPlane.Service.Tests.Alerting.AlertFleet;

namespace ControlPlane.Service.Tests.Alerting;

public sealed class AlertRoutingTests
{
    private static readonly DateTimeOffset At = new(2026, 3, 2, 9, 0, 0, TimeSpan.Zero);

    [Fact]
    public void An_endpoint_alert_goes_to_the_endpoint_owner_and_each_routed_class_owner_once()
    {
        var fleet = new FleetCatalogSnapshot(Create("http://127.0.0.1:1"), 0);

        Assert.Equal(["platform-ai", "support-eng", "legal-tech"],
            AlertRouting.TeamsFor(EndpointNotice("ep-b", AlertState.Firing, 1, At, classes: ["chat", "legal", "chat", "unknown-class"]), fleet));
        Assert.Equal(["platform-ai"], AlertRouting.TeamsFor(EndpointNotice("ep-a", AlertState.Firing, 1, At), fleet));
        // A class alert: the owner from the fleet, whatever the notice says.
        Assert.Equal(["legal-tech"], AlertRouting.TeamsFor(ClassNotice("legal", "someone-else", AlertState.Firing, 1, At), fleet));
    }

    [Fact]
    public void Receivers_filter_by_kind_and_minimum_severity()
    {
        var fleet = ServiceNode.Fleet(FleetWithSeverity);
        Assert.True(fleet.Alerting.TryGetTeam("platform-ai", out var team));
        var (pd, hook) = (team.Receivers[0], team.Receivers[1]);
        var page = EndpointNotice("ep-a", AlertState.Firing, 1, At);

        Assert.True(AlertRouting.Accepts(pd, page with { Severity = Domain.Slo.AlertSeverity.Critical }));
        Assert.False(AlertRouting.Accepts(pd, page));
        Assert.False(AlertRouting.Accepts(pd, page with { Kind = AlertKind.Strategic, Severity = Domain.Slo.AlertSeverity.Critical }));
        Assert.True(AlertRouting.Accepts(hook, page with { Kind = AlertKind.Strategic, Severity = Domain.Slo.AlertSeverity.Ticket }));
        Assert.Equal("docs/runbooks/provider-error-rate.md", AlertRouting.RunbookFor(page, fleet.Alerting));
        Assert.Equal("https://wiki.example.com/x", AlertRouting.RunbookFor(page with { Runbook = "https://wiki.example.com/x" }, fleet.Alerting));
    }

    [Fact]
    public void Backoff_doubles_up_to_the_cap_less_at_most_the_jitter_share_and_options_are_bounded()
    {
        var options = new AlertDeliveryOptions { InitialDelay = TimeSpan.FromSeconds(2), MaxDelay = TimeSpan.FromSeconds(30), Jitter = 0.2 }.Validate();

        Assert.Equal([2.0, 4.0, 8.0, 16.0, 30.0, 30.0], Enumerable.Range(1, 6).Select(n => options.Backoff(n, 0).TotalSeconds));
        Assert.Equal(1.6, options.Backoff(1, 1).TotalSeconds, 6);
        Assert.Equal(24.0, options.Backoff(9, 1).TotalSeconds, 6);
        Assert.Equal("Jitter", Assert.Throws<ArgumentOutOfRangeException>(() => new AlertDeliveryOptions { Jitter = 1.5 }.Validate()).ParamName);
        Assert.Equal("MaxDelay", Assert.Throws<ArgumentOutOfRangeException>(() => new AlertDeliveryOptions { MaxDelay = TimeSpan.FromSeconds(1) }.Validate()).ParamName);
        Assert.Equal("MaxAge", Assert.Throws<ArgumentOutOfRangeException>(() => new AlertDeliveryOptions { MaxAge = TimeSpan.FromDays(8) }.Validate()).ParamName);
        Assert.Equal("MaxQueuedPerTeam", Assert.Throws<ArgumentOutOfRangeException>(() => new AlertDeliveryOptions { MaxQueuedPerTeam = 0 }.Validate()).ParamName);
    }

    [Fact]
    public async Task Owners_without_a_teams_entry_and_disabled_receivers_are_logged_once_at_start()
    {
        var time = new FakeTimeProvider(At);
        using var storage = new TestStorage();
        var logs = new CapturedLogs();
        await using var node = await ServiceNode.StartAsync(time, storage, configureSilo: s => s.Services.AddSingleton<ILoggerProvider>(logs));

        Assert.Equal(["ml-infra", "developer-productivity", "automation"], AlertOutboxStarter.OwnersWithoutEntry(ServiceNode.SampleFleet()));
        var warnings = logs.Entries.Where(e => e.Category.EndsWith(nameof(AlertOutboxStarter), StringComparison.Ordinal) && e.Level == LogLevel.Warning)
            .Select(e => e.Message).ToList();
        Assert.Equal(3, warnings.Count(m => m.StartsWith("Team ", StringComparison.Ordinal)));
        Assert.Single(warnings, m => m.StartsWith("Team ml-infra owns", StringComparison.Ordinal));
        // The sample's receivers read their URLs and keys from variables unset here: each is disabled, and said so.
        Assert.Contains(warnings, m => m.Contains("receiver pagerduty-0 of team platform-ai is disabled", StringComparison.Ordinal)
            && m.Contains("CP_PD_PLATFORM_AI", StringComparison.Ordinal));
        Assert.Equal(6, warnings.Count(m => m.Contains("is disabled", StringComparison.Ordinal)));
    }

    private const string FleetWithSeverity = """
        endpoints:
          - { id: ep-a, provider: vllm, model: llama, model_version: v1, region: eu, context_window: 32000, price_per_1k: { input: 0, output: 0 }, owner_team: platform-ai, on_call: "#p" }
        classes:
          - { name: chat, owner: platform-ai, mode: auto_fallback, primary: [ep-a], slo: { availability: 0.99 } }
        teams:
          - name: platform-ai
            receivers:
              - { type: pagerduty, url: "https://pd.example.com/", routing_key: k, min_severity: critical }
              - { type: webhook, url: "https://hooks.example.com/" }
        """;
}
