using ControlPlane.Fleet;
using ControlPlane.Service.Tests.Support;
using OpenTelemetry;
using OpenTelemetry.Metrics;

namespace ControlPlane.Service.Tests.Telemetry;

/// <summary>A two-endpoint fleet whose ids are unique to one test (instruments of every node in the test process
/// reach every listener; the ids keep a test's measurements its own), and an OpenTelemetry SDK meter provider with the
/// in-memory exporter on the <c>ControlPlane</c> meter.</summary>
internal sealed class TelemetryFleet : IDisposable
{
    private readonly List<Metric> _exported = [];
    private readonly MeterProvider _provider;

    public TelemetryFleet()
    {
        var tag = Guid.NewGuid().ToString("N")[..8];
        Primary = "prim-" + tag;
        Backup = "back-" + tag;
        Class = "chat-" + tag;
        Fleet = ServiceNode.Fleet($$"""
            endpoints:
              - id: {{Primary}}
                provider: openai
                model: gpt
                model_version: gpt-1
                region: us-east
                context_window: 32000
                price_per_1k: { input: 0.002, output: 0.008 }
                owner_team: t
                on_call: t
              - id: {{Backup}}
                provider: anthropic
                model: claude
                model_version: claude-1
                region: us-east
                context_window: 32000
                price_per_1k: { input: 0.003, output: 0.015 }
                owner_team: t
                on_call: t
            classes:
              - name: {{Class}}
                owner: t
                mode: auto_fallback
                primary: [{{Primary}}]
                fallbacks: [{{Backup}}]
                slo: { availability: 0.99 }
            """);
        _provider = Sdk.CreateMeterProviderBuilder()
            .AddMeter(ControlPlane.Service.Telemetry.ControlPlaneTelemetry.MeterName)
            // Collected only when a test asks (no periodic export racing the test's own ForceFlush).
            .AddInMemoryExporter(_exported, o => o.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = int.MaxValue)
            .Build()!;
    }

    public string Primary { get; }

    /// <summary>A node id of this test's own (the node's meter is tagged with it: one meter identity per test).</summary>
    public string NodeId => "node-" + Primary;

    /// <summary>Names the node <see cref="NodeId"/>, then applies <paramref name="more"/>.</summary>
    public Action<ControlPlaneOptions> Configure(Action<ControlPlaneOptions>? more = null) => o =>
    {
        o.NodeId = NodeId;
        more?.Invoke(o);
    };

    public string Backup { get; }

    public string Class { get; }

    public FleetDefinition Fleet { get; }

    /// <summary>Collects now and returns the points of <paramref name="instrument"/> that carry
    /// <paramref name="required"/> (this test's ids), each with its tags.</summary>
    public IReadOnlyList<(Dictionary<string, object?> Tags, MetricPoint Point)> Points(string instrument, params (string Key, string Value)[] required)
    {
        lock (_exported)
        {
            _exported.Clear();
            for (var attempt = 0; attempt < 5 && _exported.Count == 0; attempt++)
            {
                _provider.ForceFlush();
            }

            var points = new List<(Dictionary<string, object?>, MetricPoint)>();
            foreach (var metric in _exported.Where(m => m.Name == instrument))
            {
                foreach (ref readonly var point in metric.GetMetricPoints())
                {
                    var tags = new Dictionary<string, object?>();
                    foreach (var tag in point.Tags)
                    {
                        tags[tag.Key] = tag.Value;
                    }

                    if (required.All(r => tags.TryGetValue(r.Key, out var v) && Equals(v, r.Value)))
                    {
                        points.Add((tags, point));
                    }
                }
            }

            return points;
        }
    }

    /// <summary>The sum of a counter's points with <paramref name="required"/> tags.</summary>
    public long Sum(string instrument, params (string Key, string Value)[] required) =>
        Points(instrument, required).Sum(p => p.Point.GetSumLong());

    public void Dispose() => _provider.Dispose();
}
