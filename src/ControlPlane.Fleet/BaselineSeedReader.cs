using System.Globalization;
using ControlPlane.Domain.Baselines;
using ControlPlane.Fleet.Yaml;

namespace ControlPlane.Fleet;

/// <summary>Reads an endpoint's optional <c>baseline: { latency_p95_ms, quality_pass_rate, output_tokens_per_success }</c>: what the endpoint's
/// rolling baselines start from until its own traffic teaches them (see docs/fleet-config.md).</summary>
internal static class BaselineSeedReader
{
    private const string Key = "baseline";
    private const string OutputKey = "output_tokens_per_success";

    /// <summary>Largest <c>output_tokens_per_success</c> accepted.</summary>
    public const double MaxOutputTokensPerSuccess = 10_000_000;

    /// <summary>The seed, or null when the endpoint has no (valid) <c>baseline</c>; errors go to <paramref name="errors"/>.</summary>
    public static BaselineValues? Read(MappingReader endpoint, ConfigErrorSink errors)
    {
        if (endpoint.Optional(Key) is not { } node
            || MappingReader.Create(node, endpoint.Child(Key), errors, "latency_p95_ms", "quality_pass_rate", OutputKey) is not { } baseline)
        {
            return null;
        }

        TimeSpan? latency = null;
        if (baseline.Optional("latency_p95_ms") is { } latencyNode
            && ScalarValues.TryInteger(latencyNode, baseline.Child("latency_p95_ms"), errors, out long ms))
        {
            if (ms <= 0 || ms > (long)TimeSpan.FromDays(1).TotalMilliseconds)
            {
                errors.Add(latencyNode, baseline.Child("latency_p95_ms"), "must be between 1 ms and one day");
            }
            else
            {
                latency = TimeSpan.FromMilliseconds(ms);
            }
        }

        double? passRate = null;
        if (baseline.Optional("quality_pass_rate") is { } passNode
            && ScalarValues.TryDouble(passNode, baseline.Child("quality_pass_rate"), errors, out double rate))
        {
            if (!(rate > 0 && rate <= 1))
            {
                errors.Add(passNode, baseline.Child("quality_pass_rate"),
                    $"must be greater than 0 and at most 1 (e.g. 0.97), got {rate.ToString(CultureInfo.InvariantCulture)}");
            }
            else
            {
                passRate = rate;
            }
        }

        double? output = null;
        if (baseline.Optional(OutputKey) is { } outputNode
            && ScalarValues.TryDouble(outputNode, baseline.Child(OutputKey), errors, out double tokens))
        {
            if (!(tokens > 0 && tokens <= MaxOutputTokensPerSuccess))
            {
                errors.Add(outputNode, baseline.Child(OutputKey),
                    $"must be greater than 0 and at most {MaxOutputTokensPerSuccess.ToString("N0", CultureInfo.InvariantCulture)} (e.g. 350), got {tokens.ToString(CultureInfo.InvariantCulture)}");
            }
            else
            {
                output = tokens;
            }
        }

        if (latency is null && passRate is null && output is null)
        {
            if (baseline.Optional("latency_p95_ms") is null && baseline.Optional("quality_pass_rate") is null && baseline.Optional(OutputKey) is null)
            {
                errors.Add(node, endpoint.Child(Key), "must give latency_p95_ms, quality_pass_rate, output_tokens_per_success or several");
            }

            return null;
        }

        return new BaselineValues { LatencyP95 = latency, QualityPassRate = passRate, OutputTokensPerSuccess = output };
    }
}
