using ControlPlane.Domain.Baselines;
using static ControlPlane.Fleet.Tests.FleetYaml;

namespace ControlPlane.Fleet.Tests;

public sealed class EndpointBaselineTests
{
    [Fact]
    public void An_endpoint_baseline_is_read_and_is_optional()
    {
        var fleet = Load(With((14, "    baseline: { latency_p95_ms: 900, quality_pass_rate: 0.97 }")));

        Assert.True(fleet.TryGetEndpoint("ep-a", out var a));
        Assert.Equal(new BaselineValues { LatencyP95 = TimeSpan.FromMilliseconds(900), QualityPassRate = 0.97 }, a.Baseline);
        Assert.True(fleet.TryGetEndpoint("ep-b", out var b));
        Assert.Null(b.Baseline);

        Assert.True(Load(With((14, "    baseline: { quality_pass_rate: 1 }"))).TryGetEndpoint("ep-a", out var passOnly));
        Assert.Equal(new BaselineValues { QualityPassRate = 1.0 }, passOnly.Baseline);
    }

    [Fact]
    public void Baseline_fields_are_strict_and_errors_point_at_the_value()
    {
        string line = "    baseline: { latency_p95_ms: 0, quality_pass_rate: 1.5, p99_ms: 3 }";
        var errors = Errors(With((14, line)));

        Assert.Equal(
            [
                $"test.yaml:14:{Col(line, "0,")}: endpoints.ep-a.baseline.latency_p95_ms: must be between 1 ms and one day",
                $"test.yaml:14:{Col(line, "1.5")}: endpoints.ep-a.baseline.quality_pass_rate: must be greater than 0 and at most 1 (e.g. 0.97), got 1.5",
                $"test.yaml:14:{Col(line, "p99_ms")}: endpoints.ep-a.baseline.p99_ms: unknown key; expected one of latency_p95_ms, quality_pass_rate, output_tokens_per_success",
            ],
            errors.Select(e => e.ToString()));
    }

    [Fact]
    public void An_output_length_seed_is_read_and_bounded()
    {
        Assert.True(Load(With((14, "    baseline: { output_tokens_per_success: 350 }"))).TryGetEndpoint("ep-a", out var a));
        Assert.Equal(new BaselineValues { OutputTokensPerSuccess = 350 }, a.Baseline);

        foreach (var value in new[] { "0", "-3", "10000001" })
        {
            string line = $"    baseline: {{ latency_p95_ms: 900, output_tokens_per_success: {value} }}";
            var error = Assert.Single(Errors(With((14, line))));
            var expected = $"test.yaml:14:{Col(line, value + " }")}: endpoints.ep-a.baseline.output_tokens_per_success: must be greater than 0 and at most 10,000,000";
            Assert.True(error.ToString().StartsWith(expected, StringComparison.Ordinal), error.ToString());
        }
    }

    [Theory]
    [InlineData("    baseline: { latency_p95_ms: \"900\" }", "\"900\"", "endpoints.ep-a.baseline.latency_p95_ms: expected an integer, got the string '900'")]
    [InlineData("    baseline: { quality_pass_rate: high }", "high", "endpoints.ep-a.baseline.quality_pass_rate: expected a number, got 'high'")]
    [InlineData("    baseline: {}", "{", "endpoints.ep-a.baseline: must give latency_p95_ms, quality_pass_rate, output_tokens_per_success or several")]
    [InlineData("    baseline: 900", "900", "endpoints.ep-a.baseline: expected a mapping, got '900'")]
    public void Wrong_types_are_refused(string line, string token, string message)
    {
        var error = Assert.Single(Errors(With((14, line))));
        Assert.Equal($"test.yaml:14:{Col(line, token)}: {message}", error.ToString());
    }
}
