using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using ControlPlane.Contracts.V1;
using ControlPlane.Server.Tests.EndToEnd;
using ControlPlane.Service.Security;
using ControlPlane.Testing;

namespace ControlPlane.Server.Tests.Prometheus;

/// <summary>A real Prometheus (Debian binary) scraping a node's admin listener at <c>GET /metrics</c> with a viewer key
/// from a <c>credentials_file</c>, after Route and ReportOutcome traffic: the decision counter arrives, the target is up,
/// and every rule of <c>deploy/prometheus/controlplane-rules.yaml</c> loads and evaluates healthy. And the metric names
/// the rules read are the ones a node that served traffic exports.</summary>
public sealed class PrometheusScrapeTests
{
    private const int Requests = 24;

    [Fact]
    public async Task A_real_prometheus_scrapes_the_admin_listener_with_a_viewer_key_and_loads_every_rule()
    {
        await using var node = await ControlPlaneNode.StartInMemoryAsync();
        await DriveTrafficAsync(node);
        var key = await node.KeyForAsync("prometheus-scrape", Roles.Viewer);
        await using var prometheus = await PrometheusServer.StartAsync(node.AdminAddress, key);

        var decisions = await prometheus.QueryUntilAsync(
            "sum(controlplane_route_decisions_total{controlplane_workload_class=\"customer_chat\"})",
            result => result.GetArrayLength() == 1 && Value(result[0]) >= Requests, TimeSpan.FromSeconds(90));
        var target = Assert.Single((await prometheus.ApiAsync("targets")).GetProperty("activeTargets").EnumerateArray());
        Assert.True(target.GetProperty("health").GetString() == "up", target.ToString());
        Assert.Equal("", target.GetProperty("lastError").GetString());
        Assert.Equal(1, decisions.GetArrayLength());
        Assert.True(Value(decisions[0]) >= Requests, decisions.ToString());

        // Every rule loaded and, once evaluated, healthy (a bad query or a vector-matching error makes it "err").
        var expected = File.ReadAllLines(PrometheusTools.RulesFile).Count(l => Regex.IsMatch(l, @"^\s+- (alert|record):"));
        var rules = new List<JsonElement>();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        do
        {
            rules = (await prometheus.ApiAsync("rules")).GetProperty("groups").EnumerateArray()
                .SelectMany(g => g.GetProperty("rules").EnumerateArray()).ToList();
            if (rules.Count == expected && rules.All(r => r.GetProperty("health").GetString() == "ok"))
            {
                break;
            }

            await Task.Delay(500);
        }
        while (DateTime.UtcNow < deadline);

        Assert.Equal(expected, rules.Count);
        Assert.All(rules, r => Assert.True(r.GetProperty("health").GetString() == "ok", r.ToString()));
    }

    [Fact]
    public async Task Every_metric_the_rules_read_is_in_a_scrape_of_a_node_that_served_traffic_and_promtool_accepts_it()
    {
        await using var node = await ControlPlaneNode.StartInMemoryAsync();
        await DriveTrafficAsync(node);
        using var viewer = await node.AdminAsAsync("metrics-reader", Roles.Viewer);

        // The outcome-derived counters reach the exporter when the node's outcome loop has flushed them: poll. The
        // federation metrics exist only with federation on: FederationScrapeTests checks them on federated nodes.
        var referenced = MetricsReadByTheRules().Where(name => !name.StartsWith(FederationScrapeTests.Prefix, StringComparison.Ordinal)).ToList();
        string scrape;
        var deadline = DateTime.UtcNow.AddSeconds(60);
        List<string> missing;
        do
        {
            using var response = await viewer.GetAsync("metrics");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            scrape = await response.Content.ReadAsStringAsync();
            var exported = Regex.Matches(scrape, @"^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]", RegexOptions.Multiline).Select(m => m.Groups[1].Value)
                .ToHashSet(StringComparer.Ordinal);
            missing = referenced.Where(name => !exported.Contains(name)).ToList();
            if (missing.Count == 0)
            {
                break;
            }

            await Task.Delay(500);
        }
        while (DateTime.UtcNow < deadline);

        Assert.True(missing.Count == 0, $"read by the rules but not exported: {string.Join(", ", missing)}");

        var ours = referenced.Select(name => name.Replace("_bucket", "", StringComparison.Ordinal).Replace("_count", "", StringComparison.Ordinal))
            .ToHashSet(StringComparer.Ordinal);
        await PrometheusTools.AssertParsesAndOnlyTheirsLintAsync(scrape, ours.Contains);
    }

    /// <summary>The metric names (not recorded series, which hold a colon) that the rules' expressions select.</summary>
    internal static List<string> MetricsReadByTheRules()
    {
        var text = File.ReadAllText(PrometheusTools.RulesFile);
        // A selector with matchers or a range (`name{`, `name[`), or a bare name as an aggregation's argument
        // (`max by (labels) (name)`; a parenthesised list after by/on/without/ignoring holds labels, not names; a word
        // without an underscore in parentheses is prose of an annotation).
        var names = Regex.Matches(text, @"\b([a-zA-Z_][a-zA-Z0-9_]*)(?:\{|\[)|(?<!\b(?:by|on|without|ignoring) )\(([a-zA-Z][a-zA-Z0-9]*_[a-zA-Z0-9_]+)\)")
            .Select(m => m.Groups[1].Success ? m.Groups[1].Value : m.Groups[2].Value)
            .Where(n => n != "by" && n != "on")
            .Distinct(StringComparer.Ordinal)
            .Order(StringComparer.Ordinal)
            .ToList();
        Assert.Contains("controlplane_outcomes_total", names);
        return names;
    }

    /// <summary>Route and outcome traffic touching what the rules read: decisions, outcomes of several statuses on the
    /// primary and on a fallback, latency, tokens (cost), quality and workflow verdicts, a returned model version.</summary>
    private static async Task DriveTrafficAsync(ControlPlaneNode node)
    {
        for (var i = 0; i < Requests; i++)
        {
            var decision = await node.RouteUntilAsync("customer_chat", d => d.EndpointId.Length > 0);
            Assert.True(decision.EndpointId.Length > 0, decision.ToString());
            var outcome = new Outcome
            {
                DecisionId = decision.DecisionId,
                EndpointId = decision.EndpointId,
                WorkloadClass = "customer_chat",
                Status = i % 8 == 7 ? OutcomeStatus.ServerError : OutcomeStatus.Success,
                HttpStatus = i % 8 == 7 ? 503 : 200,
                LatencyMs = 200 + i,
                TtftMs = 50,
                InputTokens = 1_000,
                OutputTokens = 200,
                Quality = new Quality { Verdict = i % 6 == 5 ? QualityVerdict.Fail : QualityVerdict.Pass },
                WorkflowVerdict = i % 4 == 3 ? WorkflowVerdict.Failed : WorkflowVerdict.Completed,
            };
            if (i == 0)
            {
                outcome.ReturnedModelVersion = decision.Model + "-2026-12-01";
            }

            var ack = await node.Routing.ReportOutcomeAsync(outcome);
            Assert.True(ack.Accepted == 1, string.Join("; ", ack.Errors));
        }

        // A 429 and an attempt served by a fallback (not the class's primary), without a decision (the node accepts them).
        foreach (var (endpoint, status) in new[] { ("openai-gpt4o-us", OutcomeStatus.RateLimited), ("anthropic-sonnet-us", OutcomeStatus.Success) })
        {
            var ack = await node.Routing.ReportOutcomeAsync(new Outcome
            {
                EndpointId = endpoint,
                WorkloadClass = "customer_chat",
                Status = status,
                HttpStatus = status == OutcomeStatus.RateLimited ? 429 : 200,
                LatencyMs = 300,
                InputTokens = 500,
                OutputTokens = 100,
                RequestId = "prometheus-" + endpoint,
            });
            Assert.True(ack.Accepted == 1, string.Join("; ", ack.Errors));
        }
    }

    private static double Value(JsonElement sample) =>
        double.Parse(sample.GetProperty("value")[1].GetString()!, CultureInfo.InvariantCulture);
}
