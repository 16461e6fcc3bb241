using static ControlPlane.Fleet.Tests.FleetYaml;

namespace ControlPlane.Fleet.Tests;

/// <summary><c>alerting.thresholds</c>, a class's or endpoint's <c>alerts:</c> and the class field <c>production</c>.</summary>
public sealed class AlertThresholdsTests
{
    [Fact]
    public void Without_alerting_every_target_has_the_seed_defaults_and_classes_are_production()
    {
        var fleet = Load(Base);

        Assert.True(fleet.TryGetClass("chat", out var chat));
        Assert.True(chat.Production);
        Assert.Equal(AlertThresholds.Defaults, chat.Alerts);
        Assert.True(fleet.TryGetEndpoint("ep-a", out var ep));
        Assert.Equal(AlertThresholds.Defaults, ep.Alerts);
        Assert.Null(ep.AlertOverrides.ProviderErrorRate.Threshold);
        Assert.Equal((0.05, TimeSpan.FromMinutes(5), 0.15, 20), (AlertThresholds.Defaults.ProviderErrorRate.Threshold,
            AlertThresholds.Defaults.ProviderErrorRate.Window, AlertThresholds.Defaults.ProviderErrorRate.Critical, AlertThresholds.Defaults.ProviderErrorRate.MinRequests));
    }

    [Fact]
    public void Fleet_defaults_apply_under_class_and_endpoint_overrides()
    {
        var fleet = Load("alerting:\n  runbook_base_url: https://runbooks.example.com/cp/\n"
            + "  thresholds:\n    provider_error_rate: { threshold: 0.03, window: 10m }\n    cost_per_success: { for: 4h, baseline: 14d }\n"
            + With(
                (13, "    on_call: \"#ai-oncall\"\n    alerts: { provider_latency_p95: { factor: 3.0, for: 90s } }"),
                (38, "    owner: legal-tech\n    production: false\n    alerts: { provider_error_rate: { threshold: 0.02 }, fallback_quality_decline: { window: 3d, drop: 0.1 } }")));

        Assert.True(fleet.TryGetClass("legal", out var legal));
        Assert.False(legal.Production);
        Assert.Equal((0.02, TimeSpan.FromMinutes(10), 0.15), (legal.Alerts.ProviderErrorRate.Threshold, legal.Alerts.ProviderErrorRate.Window, legal.Alerts.ProviderErrorRate.Critical));
        Assert.Equal((TimeSpan.FromHours(4), TimeSpan.FromDays(14), 0.2), (legal.Alerts.CostPerSuccess.For, legal.Alerts.CostPerSuccess.Baseline, legal.Alerts.CostPerSuccess.Increase));
        Assert.Equal((TimeSpan.FromDays(3), 0.1), (legal.Alerts.FallbackQualityDecline.Window, legal.Alerts.FallbackQualityDecline.Drop));
        Assert.True(fleet.TryGetClass("chat", out var chat));
        Assert.Equal(0.03, chat.Alerts.ProviderErrorRate.Threshold);
        Assert.True(fleet.TryGetEndpoint("ep-a", out var ep));
        Assert.Equal((3.0, TimeSpan.FromSeconds(90), 0.03), (ep.Alerts.ProviderLatencyP95.Factor, ep.Alerts.ProviderLatencyP95.For, ep.Alerts.ProviderErrorRate.Threshold));
        Assert.Equal((3.0, (double?)null), (ep.AlertOverrides.ProviderLatencyP95.Factor, ep.AlertOverrides.ProviderErrorRate.Threshold));
    }

    [Theory]
    [InlineData("provider_error_rate: { threshold: 1.5 }", "1.5", "alerts.provider_error_rate.threshold: must be a share strictly between 0 and 1, got 1.5")]
    [InlineData("provider_error_rate: { threshold: 0 }", "0 }", "alerts.provider_error_rate.threshold: must be a share strictly between 0 and 1, got 0")]
    [InlineData("provider_latency_p95: { factor: 0.5 }", "0.5", "alerts.provider_latency_p95.factor: must be a factor above 1 and at most 100, got 0.5")]
    [InlineData("provider_error_rate: { window: 5 }", "5 }", "alerts.provider_error_rate.window: expected a duration such as 90s, 5m, 2h or 7d, got '5'")]
    [InlineData("provider_error_rate: { window: 2h }", "2h", "alerts.provider_error_rate.window: must be between 1m and 1h, got 2h")]
    [InlineData("cost_per_success: { baseline: 60d }", "60d", "alerts.cost_per_success.baseline: must be between 1d and 14d, got 60d")]
    [InlineData("provider_error_rate: { min_requests: 0 }", "0 }", "alerts.provider_error_rate.min_requests: must be between 1 and 1000000, got 0")]
    [InlineData("provider_error_rate: { factor: 2 }", "factor", "alerts.provider_error_rate.factor: unknown key")]
    [InlineData("error_rate: { threshold: 0.1 }", "error_rate", "alerts.error_rate: unknown key")]
    public void A_bad_class_override_is_an_error_at_its_position(string rule, string token, string expected)
    {
        string line = $"    alerts: {{ {rule} }}";

        var error = Assert.Single(Errors(With((38, $"    owner: legal-tech\n{line}"))));

        Assert.StartsWith($"test.yaml:39:{Col(line, token)}: classes.legal.", error.ToString(), StringComparison.Ordinal);
        Assert.Contains(expected, error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Critical_must_be_above_the_threshold()
    {
        var error = Assert.Single(Errors("alerting:\n  thresholds:\n    provider_error_rate: { threshold: 0.2, critical: 0.1 }\n" + Base));

        Assert.Contains("alerting.thresholds.provider_error_rate.critical: must be above the threshold (0.2), got 0.1", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Production_takes_a_yaml_boolean_and_alerting_takes_known_keys()
    {
        var production = Assert.Single(Errors(With((38, "    owner: legal-tech\n    production: maybe"))));
        Assert.Contains("classes.legal.production: expected true or false", production.ToString(), StringComparison.Ordinal);

        var alerting = Assert.Single(Errors("alerting:\n  thresholds: {}\n  silence: 1h\n" + Base));
        Assert.StartsWith("test.yaml:3:3: alerting.silence: unknown key", alerting.ToString(), StringComparison.Ordinal);
    }
}
