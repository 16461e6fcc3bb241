using System.Globalization;
using ControlPlane.Domain.Baselines;
using ControlPlane.Fleet.Yaml;

namespace ControlPlane.Fleet;

/// <summary>Reads an endpoint's optional <c>baseline: { latency_p95_ms, quality_pass_rate }</c>: what the endpoint's
/// rolling baselines start from until its own traffic teaches them (see docs/fleet-config.md).</summary>
internal static class BaselineSeedReader
{
    private const string Key = "baseline";

    /// <summary>The seed, or null when the endpoint has no (valid) <c>baseline</c>; errors go to <paramref name="errors"/>.</summary>
    public static BaselineValues? Read(MappingReader endpoint, ConfigErrorSink errors)
    {
        if (endpoint.Optional(Key) is not { } node
            || MappingReader.Create(node, endpoint.Child(Key), errors, "latency_p95_ms", "quality_pass_rate") is not { } baseline)
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

        if (latency is null && passRate is null)
        {
            if (baseline.Optional("latency_p95_ms") is null && baseline.Optional("quality_pass_rate") is null)
            {
                errors.Add(node, endpoint.Child(Key), "must give latency_p95_ms, quality_pass_rate or both");
            }

            return null;
        }

        return new BaselineValues { LatencyP95 = latency, QualityPassRate = passRate };
    }
}
