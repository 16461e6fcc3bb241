using ControlPlane.Domain.Slo;
using static ControlPlane.Fleet.Tests.FleetYaml;

namespace ControlPlane.Fleet.Tests;

public sealed class AlertTeamsConfigTests
{
    [Fact]
    public void Without_teams_the_fleet_has_none_and_the_default_runbook_base()
    {
        var fleet = Load(Base);

        Assert.Empty(fleet.Alerting.Teams);
        Assert.Equal("docs/runbooks/", fleet.Alerting.RunbookBaseUrl);
        Assert.Equal("docs/runbooks/provider-error-rate.md", fleet.Alerting.RunbookFor("provider-error-rate"));
    }

    [Fact]
    public void Teams_receivers_kinds_and_secrets_are_read()
    {
        string yaml = Base + """
            alerting:
              runbook_base_url: https://runbooks.example.com/cp
              thresholds: { provider_error_rate: { threshold: 0.02 } }
            teams:
              - name: platform-ai
                on_call: "#ai-oncall"
                receivers:
                  - { type: pagerduty, url: https://events.pagerduty.com/v2/enqueue, routing_key_env: CP_PD_KEY }
                  - { type: slack, name: chat, url_env: CP_SLACK_URL, kinds: [strategic], min_severity: page }
                  - { type: webhook, url: http://127.0.0.1:9000/alerts }
              - name: support-eng
                receivers:
                  - { type: pagerduty, url: https://pd.example.com/enqueue, routing_key: abc123, kinds: [tactical, strategic] }
            """;
        var fleet = Load(yaml);

        Assert.Equal("https://runbooks.example.com/cp/quality-slo-burn.md", fleet.Alerting.RunbookFor("quality-slo-burn"));
        Assert.True(fleet.Alerting.TryGetTeam("platform-ai", out var platform));
        Assert.Equal("#ai-oncall", platform.OnCall);
        Assert.Equal(["pagerduty-0", "chat", "webhook-2"], platform.Receivers.Select(r => r.Name));
        var pd = platform.Receivers[0];
        Assert.Equal((AlertReceiverType.PagerDuty, "https://events.pagerduty.com/v2/enqueue", null, "CP_PD_KEY", AlertReceiverKinds.Tactical),
            (pd.Type, pd.Url, pd.RoutingKey, pd.RoutingKeyEnv, pd.Kinds));
        var slack = platform.Receivers[1];
        Assert.Equal((AlertReceiverType.Slack, null, "CP_SLACK_URL", AlertReceiverKinds.Strategic, AlertSeverity.Page),
            (slack.Type, slack.Url, slack.UrlEnv, slack.Kinds, slack.MinSeverity));
        Assert.Equal(AlertReceiverKinds.Both, platform.Receivers[2].Kinds);
        Assert.True(fleet.Alerting.TryGetTeam("support-eng", out var support));
        Assert.Equal(("abc123", AlertReceiverKinds.Both, ""), (support.Receivers[0].RoutingKey, support.Receivers[0].Kinds, support.OnCall));
        // Teams named by owners without an entry (legal-tech owns a class) are allowed.
        Assert.False(fleet.Alerting.TryGetTeam("legal-tech", out _));
    }

    [Fact]
    public void Bad_teams_are_reported_with_position_and_field()
    {
        string[] lines =
        [
            /* 43 */ "alerting: { runbook_base_url: 'ftp://runbooks.example.com/' }",
            /* 44 */ "teams:",
            /* 45 */ "  - name: platform-ai",
            /* 46 */ "    receivers:",
            /* 47 */ "      - { type: sms, url: http://x.example.com/ }",
            /* 48 */ "      - { type: webhook, url: file:///etc/passwd }",
            /* 49 */ "      - { type: slack, url: https://hooks.example.com/a, url_env: CP_SLACK }",
            /* 50 */ "      - { type: pagerduty, url: https://pd.example.com/ }",
            /* 51 */ "      - { type: webhook, url_env: 1BAD, kinds: [tactical, tactical] }",
            /* 52 */ "      - { type: webhook, url: https://a.example.com/, kinds: [pages], min_severity: urgent, routing_key: k }",
            /* 53 */ "  - name: platform-ai",
            /* 54 */ "    receivers: []",
        ];
        var errors = Errors(Base + string.Join('\n', lines) + "\n");

        Assert.Equal(
            [
                $"test.yaml:43:{Col(lines[0], "'ftp")}: alerting.runbook_base_url: must be an http(s) URL or a relative path, got scheme 'ftp'",
                $"test.yaml:47:{Col(lines[4], "sms")}: teams.platform-ai.receivers[0].type: unknown receiver type 'sms'; expected one of webhook, slack, pagerduty",
                $"test.yaml:48:{Col(lines[5], "file:")}: teams.platform-ai.receivers[1].url: must be an absolute http or https URL",
                $"test.yaml:49:{Col(lines[6], "CP_SLACK")}: teams.platform-ai.receivers[2].url_env: give either 'url' or 'url_env', not both",
                $"test.yaml:50:{Col(lines[7], "{")}: teams.platform-ai.receivers[3].routing_key: is required (or 'routing_key_env' naming an environment variable)",
                $"test.yaml:51:{Col(lines[8], "1BAD")}: teams.platform-ai.receivers[4].url_env: '1BAD' is not an environment variable name: letters, digits and '_' (at most 128), not starting with a digit",
                $"test.yaml:51:{Col(lines[8], "tactical]")}: teams.platform-ai.receivers[4].kinds[1]: kind 'tactical' is listed twice",
                $"test.yaml:52:{Col(lines[9], "pages")}: teams.platform-ai.receivers[5].kinds[0]: unknown alert kind 'pages'; expected tactical or strategic",
                $"test.yaml:52:{Col(lines[9], "urgent")}: teams.platform-ai.receivers[5].min_severity: unknown severity 'urgent'; expected one of ticket, page, critical",
                $"test.yaml:52:{Col(lines[9], "k }")}: teams.platform-ai.receivers[5].routing_key: only a pagerduty receiver takes a routing key",
                $"test.yaml:53:{Col(lines[10], "platform-ai")}: teams.platform-ai.name: duplicate team 'platform-ai'; first defined at line 45",
            ],
            errors.Select(e => e.ToString()));
    }

    [Fact]
    public void Team_and_receiver_counts_are_bounded()
    {
        string receivers = string.Join(", ", Enumerable.Range(0, 9).Select(i => $"{{ type: webhook, url: 'http://h{i}.example.com/' }}"));
        var errors = Errors(Base + $"teams:\n  - name: big\n    receivers: [{receivers}]\n");
        Assert.Equal("teams.big.receivers: at most 8 receivers per team, got 9", Assert.Single(errors).ToString().Split(": ", 2)[1]);

        string teams = string.Join("\n", Enumerable.Range(0, 257).Select(i => $"  - name: t{i}"));
        errors = Errors(Base + "teams:\n" + teams + "\n");
        Assert.Equal("teams: at most 256 teams, got 257", Assert.Single(errors).ToString().Split(": ", 2)[1]);
    }

    [Fact]
    public void Receiver_urls_from_the_environment_follow_the_same_rule()
    {
        Assert.Null(AlertUrls.Problem("https://hooks.slack.com/services/T/B/X"));
        Assert.Equal("must be an absolute http or https URL", AlertUrls.Problem("javascript:alert(1)"));
        Assert.Equal("must not carry credentials in the URL", AlertUrls.Problem("https://user:pw@example.com/"));
        Assert.Equal("must be at most 2048 characters", AlertUrls.Problem("https://example.com/" + new string('a', 2048)));
    }
}
