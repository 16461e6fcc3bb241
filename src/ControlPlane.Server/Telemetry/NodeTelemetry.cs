using ControlPlane.Service.Security;
using ControlPlane.Service.Telemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace ControlPlane.Server.Telemetry;

/// <summary>The node's OpenTelemetry (<c>docs/telemetry.md</c>): metrics from the <c>ControlPlane</c> meter, Orleans',
/// ASP.NET Core's and the runtime's; traces from the <c>ControlPlane</c> source, ASP.NET Core (so a caller's W3C
/// <c>traceparent</c> is the parent) and Orleans' grain calls, sampled parent-based at <c>--trace-sample</c>;
/// exported to Prometheus (<c>GET /metrics</c> on the admin listener, role viewer) and, when configured, OTLP (logs
/// too). <c>--telemetry off</c> registers none of it.</summary>
internal static class NodeTelemetry
{
    /// <summary>The scrape path on the admin listener.</summary>
    public const string MetricsPath = "/metrics";

    /// <summary>The OpenTelemetry service name.</summary>
    public const string ServiceName = "controlplane";

    private static readonly string[] OtlpVariables =
        ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT"];

    /// <summary>ASP.NET Core's meters, named rather than through <c>AddAspNetCoreInstrumentation()</c>, which on .NET 10
    /// also takes <c>Microsoft.AspNetCore.MemoryPool</c>: a measurement for every buffer Kestrel rents and returns, several
    /// per gRPC call, which cost the data plane a measurable share of Route's CPU in bench/grpc-h2load.sh
    /// (docs/benchmarks.md). The data plane's own requests are also left out of <c>http.server.request.duration</c>
    /// (NodeHost: <c>DisableHttpMetrics</c> on the Routing service); the admin listener's are in it.</summary>
    internal static readonly string[] AspNetCoreMeters =
    [
        "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel", "Microsoft.AspNetCore.Http.Connections",
        "Microsoft.AspNetCore.Routing", "Microsoft.AspNetCore.Diagnostics", "Microsoft.AspNetCore.RateLimiting",
        "Microsoft.AspNetCore.Authentication", "Microsoft.AspNetCore.Authorization",
    ];

    /// <summary>True when OTLP export is on: <c>--otlp-endpoint</c>, or a standard endpoint variable.</summary>
    public static bool OtlpEnabled(NodeOptions options) =>
        options.OtlpEndpoint is not null || OtlpVariables.Any(v => !string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(v)));

    /// <summary>Registers the providers and exporters (nothing with <c>--telemetry off</c>).</summary>
    public static void AddNodeTelemetry(this WebApplicationBuilder builder, NodeOptions options, string nodeName)
    {
        if (!options.Telemetry)
        {
            return;
        }

        var otlp = OtlpEnabled(options);
        builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(ServiceName, serviceInstanceId: nodeName))
            .WithMetrics(metrics =>
            {
                metrics.AddMeter(ControlPlaneTelemetry.MeterName, ControlPlaneTelemetry.OrleansMeterName)
                    .AddMeter(AspNetCoreMeters)
                    .AddRuntimeInstrumentation()
                    .AddPrometheusExporter();
                if (otlp)
                {
                    metrics.AddOtlpExporter(o => Configure(o, options));
                }
            })
            .WithTracing(tracing =>
            {
                tracing.SetSampler(new ParentBasedSampler(new TraceIdRatioBasedSampler(options.TraceSample)))
                    .AddSource(ControlPlaneTelemetry.ActivitySourceName)
                    .AddSource([.. ControlPlaneTelemetry.OrleansActivitySources])
                    .AddAspNetCoreInstrumentation();
                if (otlp)
                {
                    tracing.AddOtlpExporter(o => Configure(o, options));
                }
            });
        if (otlp)
        {
            builder.Logging.AddOpenTelemetry(logging =>
            {
                logging.IncludeFormattedMessage = true;
                logging.AddOtlpExporter(o => Configure(o, options));
            });
        }
    }

    /// <summary>Maps <c>GET /metrics</c> (Prometheus text; role viewer). The node's port gates keep it off the data plane.</summary>
    public static void MapNodeMetrics(this WebApplication app, NodeOptions options)
    {
        if (options.Telemetry)
        {
            app.MapPrometheusScrapingEndpoint(MetricsPath).RequireRoles(Roles.Viewer);
        }
    }

    // --otlp-endpoint wins over the environment; without it the exporter reads the OTEL_EXPORTER_OTLP_* variables.
    private static void Configure(OtlpExporterOptions otlp, NodeOptions options)
    {
        if (options.OtlpEndpoint is { } endpoint)
        {
            otlp.Endpoint = endpoint;
            otlp.Protocol = OtlpExportProtocol.Grpc;
        }
    }
}
