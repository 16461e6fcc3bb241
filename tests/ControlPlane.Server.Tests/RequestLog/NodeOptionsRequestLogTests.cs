using ControlPlane.Service;

namespace ControlPlane.Server.Tests.RequestLog;

/// <summary>The request log's flags: defaults, the default file, off, and bad values named.</summary>
public sealed class NodeOptionsRequestLogTests
{
    [Fact]
    public void By_default_the_log_is_in_the_data_directory_sampled_at_1_rotated_at_100_MiB_keeping_5_files()
    {
        Assert.True(NodeOptions.TryParse([], out var options, out var error), error);
        var log = new ControlPlaneOptions().RequestLog;
        options.ApplyRequestLog(log);

        Assert.Equal(Path.Combine("data", "requests.jsonl"), log.Path);
        Assert.Equal((1.0, 100L * 1024 * 1024, 5, false), (log.SampleRate, log.MaxFileBytes, log.Files, log.Otlp));
        log.Validate();
    }

    [Theory]
    [InlineData(new[] { "--storage", "memory" }, null)]
    [InlineData(new[] { "--storage", "memory", "--data-dir", "/var/lib/cp" }, "/var/lib/cp/requests.jsonl")]
    [InlineData(new[] { "--data-dir", "/var/lib/cp", "--request-log", "off" }, null)]
    [InlineData(new[] { "--storage", "memory", "--request-log", "/tmp/r.jsonl" }, "/tmp/r.jsonl")]
    [InlineData(new[] { "--request-log=/tmp/x.jsonl" }, "/tmp/x.jsonl")]
    public void The_file_follows_the_data_directory_unless_given_or_off(string[] args, string? expected)
    {
        Assert.True(NodeOptions.TryParse(args, out var options, out var error), error);

        Assert.Equal(expected, options.RequestLogPath);
    }

    [Fact]
    public void Sample_size_files_and_otlp_are_parsed()
    {
        Assert.True(NodeOptions.TryParse(
            ["--request-log-sample", "0.25", "--request-log-max-mb=7", "--request-log-files", "3", "--request-log-otlp"], out var options, out var error), error);
        var log = new ControlPlaneOptions().RequestLog;
        options.ApplyRequestLog(log);

        Assert.Equal((0.25, 7L * 1024 * 1024, 3, true), (log.SampleRate, log.MaxFileBytes, log.Files, log.Otlp));
    }

    [Theory]
    [InlineData(new[] { "--request-log-sample", "1.5" }, "--request-log-sample")]
    [InlineData(new[] { "--request-log-sample", "NaN" }, "--request-log-sample")]
    [InlineData(new[] { "--request-log-max-mb", "0" }, "--request-log-max-mb")]
    [InlineData(new[] { "--request-log-max-mb", "999999999999" }, "--request-log-max-mb")]
    [InlineData(new[] { "--request-log-files", "101" }, "--request-log-files")]
    [InlineData(new[] { "--request-log" }, "--request-log")]
    [InlineData(new[] { "--request-log-otlp=yes" }, "--request-log-otlp")]
    public void Bad_values_are_refused_naming_the_flag(string[] args, string flag)
    {
        Assert.False(NodeOptions.TryParse(args, out _, out var error));

        Assert.Contains(flag, error, StringComparison.Ordinal);
    }
}
