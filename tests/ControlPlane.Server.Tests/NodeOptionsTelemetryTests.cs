namespace ControlPlane.Server.Tests;

/// <summary>The telemetry flags: defaults, values, and bad values refused with the flag named.</summary>
public sealed class NodeOptionsTelemetryTests
{
    [Fact]
    public void Defaults_are_telemetry_on_no_otlp_endpoint_and_one_percent_sampling()
    {
        Assert.True(NodeOptions.TryParse([], out var options, out _));
        Assert.Equal((true, null, 0.01), (options.Telemetry, options.OtlpEndpoint, options.TraceSample));
    }

    [Fact]
    public void The_flags_set_their_options()
    {
        Assert.True(NodeOptions.TryParse(["--telemetry", "off", "--otlp-endpoint=http://127.0.0.1:4317", "--trace-sample", "0.25"], out var options, out var error), error);
        Assert.Equal((false, new Uri("http://127.0.0.1:4317"), 0.25), (options.Telemetry, options.OtlpEndpoint, options.TraceSample));
    }

    [Theory]
    [InlineData("--telemetry", "maybe", "--telemetry")]
    [InlineData("--trace-sample", "1.5", "--trace-sample")]
    [InlineData("--trace-sample", "NaN", "--trace-sample")]
    [InlineData("--otlp-endpoint", "ftp://collector", "--otlp-endpoint")]
    [InlineData("--otlp-endpoint", "not a url", "--otlp-endpoint")]
    public void Bad_values_are_refused_naming_the_flag(string flag, string value, string named)
    {
        Assert.False(NodeOptions.TryParse([flag, value], out _, out var error));
        Assert.Contains(named, error, StringComparison.Ordinal);
    }
}
