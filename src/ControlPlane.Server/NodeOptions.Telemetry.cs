using System.Globalization;

namespace ControlPlane.Server;

/// <summary>The telemetry flags (<c>--telemetry on|off</c>, <c>--otlp-endpoint URL</c>, <c>--trace-sample RATIO</c>;
/// <c>docs/telemetry.md</c>).</summary>
internal sealed partial record NodeOptions
{
    /// <summary>The default share of root traces sampled.</summary>
    public const double DefaultTraceSample = 0.01;

    /// <summary>OpenTelemetry on (metrics, traces, <c>/metrics</c>, OTLP when configured). Default true.</summary>
    public bool Telemetry { get; init; } = true;

    /// <summary>The OTLP endpoint (<c>--otlp-endpoint</c>); null leaves OTLP to the standard <c>OTEL_EXPORTER_OTLP_*</c>
    /// variables.</summary>
    public Uri? OtlpEndpoint { get; init; }

    /// <summary>The share of root traces sampled (0..1), parent-based. Default <see cref="DefaultTraceSample"/>.</summary>
    public double TraceSample { get; init; } = DefaultTraceSample;

    private static bool TryParseTelemetry(string option, string? value, ref NodeOptions options, out string error)
    {
        error = "";
        if (string.IsNullOrWhiteSpace(value))
        {
            error = $"Option '{option}' needs a value.";
            return false;
        }

        switch (option)
        {
            case "--telemetry" when value is "on" or "off":
                options = options with { Telemetry = value == "on" };
                return true;
            case "--telemetry":
                error = $"Invalid --telemetry '{value}': expected on or off.";
                return false;
            case "--otlp-endpoint":
                if (value.Length > 2048 || !Uri.TryCreate(value, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
                {
                    error = "Invalid --otlp-endpoint: expected an http:// or https:// URL (at most 2048 characters), e.g. http://127.0.0.1:4317.";
                    return false;
                }

                options = options with { OtlpEndpoint = uri };
                return true;
            default:
                if (!double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var ratio) || !(ratio is >= 0 and <= 1))
                {
                    error = $"Invalid --trace-sample '{value}': expected a ratio from 0 to 1, e.g. 0.01.";
                    return false;
                }

                options = options with { TraceSample = ratio };
                return true;
        }
    }
}
