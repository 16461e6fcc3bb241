using System.Text.RegularExpressions;
using ControlPlane.Server.Tests.Support;
using YamlDotNet.RepresentationModel;

namespace ControlPlane.Server.Tests.Prometheus;

/// <summary>The Prometheus rules in <c>deploy/prometheus</c> checked by the real <c>promtool</c>: syntax, their unit tests
/// (each alert fires on a bad synthetic series, stays silent on a healthy one and honours its <c>for</c>), the scrape
/// configuration, and that every alert of the control plane has a rule with routing labels and a runbook.</summary>
public sealed class PromtoolTests
{
    /// <summary>The control plane's alert rules (docs/alerts.md); tactical ones page and have a runbook each.</summary>
    private static readonly string[] s_tactical =
        ["provider-error-rate", "provider-latency-p95", "provider-rate-limited", "workflow-failure-rate", "quality-slo-burn"];

    private static readonly string[] s_strategic =
        ["fallback-activation", "cost-per-success", "primary-rate-limit-trend", "fallback-quality-decline", "deprecation-notice", "model-version-change", "provider-output-length"];

    /// <summary>The region alerts (federation links, <c>docs/regions.md</c>) and their kind: a link down pages, a slow
    /// link opens a ticket.</summary>
    private static readonly Dictionary<string, string> s_region = new(StringComparer.Ordinal)
    {
        ["region-link-down"] = "tactical",
        ["region-lag-high"] = "strategic",
    };

    /// <summary>The steps of a region runbook, as its section headings.</summary>
    private static readonly string[] s_regionPlaybook = ["Verify", "Assess impact", "Fall back", "Escalate", "Recover"];

    /// <summary>The steps of the playbook every tactical runbook follows, as its section headings.</summary>
    private static readonly string[] s_playbook =
        ["Verify", "Assess impact", "Fall back", "Move high-risk classes to queue", "Escalate", "Recover gradually", "Post-incident record"];

    private static readonly TimeSpan s_timeout = TimeSpan.FromMinutes(5);

    [Fact]
    public async Task Rules_pass_promtool_check_rules()
    {
        var (exitCode, output) = await PrometheusTools.RunAsync(PrometheusTools.Promtool, ["check", "rules", "controlplane-rules.yaml"],
            PrometheusTools.DeployDirectory, s_timeout);

        Assert.True(exitCode == 0, output);
        Assert.Contains("SUCCESS", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Rules_pass_their_promtool_unit_tests()
    {
        var tests = Directory.GetFiles(Path.Combine(PrometheusTools.DeployDirectory, "tests"), "*.yaml").Order(StringComparer.Ordinal).ToArray();
        Assert.NotEmpty(tests);

        var (exitCode, output) = await PrometheusTools.RunAsync(PrometheusTools.Promtool,
            ["test", "rules", .. tests.Select(t => Path.GetRelativePath(PrometheusTools.DeployDirectory, t))], PrometheusTools.DeployDirectory, s_timeout);

        Assert.True(exitCode == 0, output);
        Assert.DoesNotContain("FAILED", output, StringComparison.Ordinal);
        Assert.Equal(tests.Length, Regex.Count(output, @"^\s*SUCCESS\s*$", RegexOptions.Multiline));
    }

    [Fact]
    public async Task Scrape_config_passes_promtool_check_config_with_its_credentials_file_in_place()
    {
        var dir = Directory.CreateTempSubdirectory("cp-promcfg-").FullName;
        try
        {
            var keyFile = Path.Combine(dir, "controlplane.key");
            await File.WriteAllTextAsync(keyFile, "cpk_example");
            var config = await File.ReadAllTextAsync(Path.Combine(PrometheusTools.DeployDirectory, "prometheus.yml"));
            Assert.Contains("credentials_file: /etc/prometheus/controlplane.key", config, StringComparison.Ordinal);
            await File.WriteAllTextAsync(Path.Combine(dir, "prometheus.yml"),
                config.Replace("/etc/prometheus/controlplane.key", keyFile, StringComparison.Ordinal));
            File.Copy(PrometheusTools.RulesFile, Path.Combine(dir, "controlplane-rules.yaml"));

            var (exitCode, output) = await PrometheusTools.RunAsync(PrometheusTools.Promtool, ["check", "config", "prometheus.yml"], dir, s_timeout);

            Assert.True(exitCode == 0, output);
            Assert.Contains("SUCCESS: 1 rule files found", output, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Every_control_plane_alert_has_a_rule_with_severity_kind_annotations_and_a_runbook()
    {
        var alerts = LoadAlerts();
        foreach (var alert in alerts)
        {
            var name = alert.Name;
            Assert.True(alert.Labels.TryGetValue("rule", out var rule), $"{name}: no rule label");
            Assert.Contains(alert.Labels.GetValueOrDefault("severity"), (string[])["page", "critical", "ticket"]);
            Assert.Contains(alert.Labels.GetValueOrDefault("kind"), (string[])["tactical", "strategic"]);
            Assert.Contains(alert.Labels.GetValueOrDefault("target_kind"), (string[])["endpoint", "class", "region"]);
            if (alert.Labels["target_kind"] == "region")
            {
                // Routed by region and peer region; both come from the link's series.
                Assert.Equal("{{ $labels.controlplane_region }}", alert.Labels.GetValueOrDefault("region"));
                Assert.Equal("{{ $labels.controlplane_region_peer }}", alert.Labels.GetValueOrDefault("peer_region"));
            }

            foreach (var annotation in new[] { "summary", "description", "runbook_url" })
            {
                Assert.False(string.IsNullOrWhiteSpace(alert.Annotations.GetValueOrDefault(annotation)), $"{name}: no {annotation}");
            }

            // The runbook link resolves to a file of the repository (and a heading of it when it has an anchor).
            var url = alert.Annotations["runbook_url"];
            Assert.StartsWith("docs/runbooks/", url, StringComparison.Ordinal);
            var parts = url.Split('#', 2);
            var runbook = Path.Combine(RepositoryLayout.Root, parts[0]);
            Assert.True(File.Exists(runbook), $"{name}: {parts[0]} does not exist");
            if (parts.Length == 2)
            {
                Assert.Contains($"\n## {parts[1]}\n", File.ReadAllText(runbook), StringComparison.Ordinal);
            }

            // Alert names are the rule's name with underscores (the fleet file's threshold key).
            if (!rule!.Contains("{{", StringComparison.Ordinal))
            {
                Assert.Equal(rule.Replace('-', '_'), name);
                Assert.Equal(s_tactical.Contains(rule) ? "tactical" : s_region.GetValueOrDefault(rule, "strategic"), alert.Labels["kind"]);
            }
        }

        var rules = alerts.Select(a => a.Labels["rule"]).ToHashSet(StringComparer.Ordinal);
        Assert.All(s_tactical.Concat(s_strategic).Concat(s_region.Keys), r => Assert.Contains(r, rules));
        Assert.All(alerts.Where(a => s_region.ContainsKey(a.Labels["rule"])), a => Assert.Equal("region", a.Labels["target_kind"]));
        Assert.Contains(alerts, a => a.Labels["rule"] == "provider-error-rate" && a.Labels["severity"] == "critical");
        Assert.All(alerts.Where(a => a.Labels["kind"] == "strategic"), a => Assert.Equal("ticket", a.Labels["severity"]));
    }

    [Fact]
    public void Every_tactical_rule_has_a_runbook_following_the_playbook_and_the_index_lists_every_rule()
    {
        var directory = Path.Combine(RepositoryLayout.Root, "docs", "runbooks");
        foreach (var rule in s_tactical)
        {
            var text = File.ReadAllText(Path.Combine(directory, rule + ".md"));
            var headings = Regex.Matches(text, @"^## (?:\d+\. )?(.+)$", RegexOptions.Multiline).Select(m => m.Groups[1].Value.Trim()).ToList();
            Assert.Equal(s_playbook, headings.Where(h => s_playbook.Contains(h)).ToArray());
            Assert.Contains("/admin/v1/", text, StringComparison.Ordinal);
            Assert.Contains("controlplane admin ", text, StringComparison.Ordinal);
            Assert.Contains(LoadAlerts(), a => a.Labels["rule"] == rule && a.Annotations["runbook_url"] == $"docs/runbooks/{rule}.md");
        }

        foreach (var rule in s_region.Keys)
        {
            var text = File.ReadAllText(Path.Combine(directory, rule + ".md"));
            var headings = Regex.Matches(text, @"^## (.+)$", RegexOptions.Multiline).Select(m => m.Groups[1].Value.Trim()).ToList();
            Assert.Equal(s_regionPlaybook, headings.Where(h => s_regionPlaybook.Contains(h)).ToArray());
            Assert.Contains("controlplane_federation_", text, StringComparison.Ordinal);
            Assert.Contains(LoadAlerts(), a => a.Labels["rule"] == rule && a.Annotations["runbook_url"] == $"docs/runbooks/{rule}.md");
        }

        var index = File.ReadAllText(Path.Combine(directory, "README.md"));
        Assert.All(s_tactical, rule => Assert.Contains($"({rule}.md)", index, StringComparison.Ordinal));
        Assert.All(s_strategic.Concat(s_region.Keys), rule => Assert.Contains($"\n## {rule}\n", index, StringComparison.Ordinal));
        Assert.All(s_region.Keys, rule => Assert.Contains($"({rule}.md)", index, StringComparison.Ordinal));
    }

    private static List<AlertRule> LoadAlerts()
    {
        var yaml = new YamlStream();
        using (var reader = new StreamReader(PrometheusTools.RulesFile))
        {
            yaml.Load(reader);
        }

        var alerts = new List<AlertRule>();
        var root = (YamlMappingNode)yaml.Documents[0].RootNode;
        foreach (var group in ((YamlSequenceNode)root["groups"]).Cast<YamlMappingNode>())
        {
            foreach (var rule in ((YamlSequenceNode)group["rules"]).Cast<YamlMappingNode>())
            {
                if (rule.Children.TryGetValue("alert", out var alert))
                {
                    alerts.Add(new AlertRule(((YamlScalarNode)alert).Value!, Map(rule, "labels"), Map(rule, "annotations")));
                }
            }
        }

        Assert.NotEmpty(alerts);
        return alerts;

        static Dictionary<string, string> Map(YamlMappingNode rule, string key) =>
            rule.Children.TryGetValue(key, out var node)
                ? ((YamlMappingNode)node).Children.ToDictionary(p => ((YamlScalarNode)p.Key).Value!, p => ((YamlScalarNode)p.Value).Value ?? "", StringComparer.Ordinal)
                : new Dictionary<string, string>(StringComparer.Ordinal);
    }

    private sealed record AlertRule(string Name, Dictionary<string, string> Labels, Dictionary<string, string> Annotations);
}
