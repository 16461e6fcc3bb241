using ControlPlane.Fleet;
using ControlPlane.Service.Alerting;
using ControlPlane.Service.Alerting.Delivery;
using ControlPlane.Service.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace ControlPlane.Service.Tests.Alerting;

/// <summary>A two-endpoint, two-class fleet whose teams' receivers are paths of one <see cref="AlertReceiverServer"/>:
/// ep-a and ep-b are owned by platform-ai (webhook /platform, PagerDuty /pd), class chat (ep-a, falling back to ep-b)
/// by support-eng (Slack /support), class legal (ep-b) by legal-tech (webhook /legal, and a Slack receiver whose
/// variable is unset: disabled).</summary>
internal static class AlertFleet
{
    public const string RunbookBase = "https://runbooks.example.com/cp/";

    public static FleetDefinition Create(string receiverBaseUrl) => ServiceNode.Fleet($$"""
        endpoints:
          - id: ep-a
            provider: openai
            model: gpt-4o
            model_version: gpt-4o-2024-08-06
            region: us-east
            context_window: 128000
            capabilities: [tools]
            price_per_1k: { input: 0.0025, output: 0.01 }
            limits: { tpm: 2000000, rpm: 5000 }
            owner_team: platform-ai
            on_call: "#ai-oncall"
          - id: ep-b
            provider: anthropic
            model: claude-sonnet-4
            model_version: claude-sonnet-4-20250514
            region: eu-west
            context_window: 200000
            capabilities: [tools]
            price_per_1k: { input: 0.003, output: 0.015 }
            limits: { tpm: 2000000, rpm: 5000 }
            owner_team: platform-ai
            on_call: "#ai-oncall"
        classes:
          - name: chat
            owner: support-eng
            mode: auto_fallback
            priority: interactive
            primary: [ep-a]
            fallbacks: [{ endpoint: ep-b, eval_score: 0.93 }]
            slo: { availability: 0.995 }
          - name: legal
            owner: legal-tech
            mode: queue_only
            primary: [ep-b]
            slo: { availability: 0.99 }
        alerting:
          runbook_base_url: {{RunbookBase}}
        teams:
          - name: platform-ai
            on_call: "#ai-oncall"
            receivers:
              - { type: webhook, name: hook, url: "{{receiverBaseUrl}}/platform" }
              - { type: pagerduty, name: pd, url: "{{receiverBaseUrl}}/pd", routing_key: R0UT1NGKEY }
          - name: support-eng
            on_call: "#support-oncall"
            receivers:
              - { type: slack, name: chat, url: "{{receiverBaseUrl}}/support" }
          - name: legal-tech
            receivers:
              - { type: webhook, name: hook, url: "{{receiverBaseUrl}}/legal" }
              - { type: slack, name: unset, url_env: CP_TEST_UNSET_SLACK_URL_7F3A }
        """);

    /// <summary>Fast retries for tests: polled every 100 ms, first retry after 2 s (80-100 % of it), doubling.</summary>
    public static Action<ISiloBuilder> FastDelivery(Action<AlertDeliveryOptions>? more = null) => silo =>
        silo.Services.Configure<AlertDeliveryOptions>(o =>
        {
            o.PollInterval = TimeSpan.FromMilliseconds(100);
            o.InitialDelay = TimeSpan.FromSeconds(2);
            o.MaxDelay = TimeSpan.FromMinutes(1);
            o.Jitter = 0.2;
            o.AttemptTimeout = TimeSpan.FromSeconds(30);
            more?.Invoke(o);
        });

    public static AlertNotice EndpointNotice(string endpoint, AlertState state, long sequence, DateTimeOffset at, string rule = "provider-error-rate",
        AlertKind kind = AlertKind.Tactical, Domain.Slo.AlertSeverity severity = Domain.Slo.AlertSeverity.Page, params string[] classes) =>
        new(AlertNotice.KeyOf(rule, AlertTargetKind.Endpoint, endpoint), rule, kind, severity, state, AlertTargetKind.Endpoint, endpoint,
            classes, "platform-ai", "#ai-oncall", "", $"{rule} on {endpoint}: 12% errors over 5m (threshold 5%)", 0.12, 0.05,
            TimeSpan.FromMinutes(5), at.AddMinutes(-5), at, sequence);

    public static AlertNotice ClassNotice(string workloadClass, string owner, AlertState state, long sequence, DateTimeOffset at,
        string rule = "fallback-activation", AlertKind kind = AlertKind.Strategic) =>
        new(AlertNotice.KeyOf(rule, AlertTargetKind.WorkloadClass, workloadClass), rule, kind, Domain.Slo.AlertSeverity.Ticket, state,
            AlertTargetKind.WorkloadClass, workloadClass, [workloadClass], owner, "", "", $"{rule} on {workloadClass}", 0.2, 0.1,
            TimeSpan.FromMinutes(30), at.AddMinutes(-30), at, sequence);

    public static IAlertNotifier Notifier(this ServiceNode node) => node.Services.GetRequiredService<IAlertNotifier>();

    public static Task<TeamDeliveriesView> DeliveriesAsync(this ServiceNode node, string team) =>
        node.Grains.GetGrain<IAlertOutboxGrain>(team).GetDeliveriesAsync();

    /// <summary>Advances the fake clock in <paramref name="step"/>s, giving real time to the outbox's sends between
    /// steps, until <paramref name="done"/> holds (or about 60 s of real time passed); returns whether it held.</summary>
    public static async Task<bool> PumpUntilAsync(FakeTimeProvider time, Func<bool> done, TimeSpan? step = null, int maxSteps = 1_500)
    {
        for (int i = 0; i < maxSteps; i++)
        {
            if (done())
            {
                return true;
            }

            time.Advance(step ?? TimeSpan.FromMilliseconds(100));
            await Task.Delay(40);
        }

        return done();
    }
}
