using System.Collections.Concurrent;
using ControlPlane.Service.Alerting;
using ControlPlane.Service.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Wire = ControlPlane.Contracts.V1;

namespace ControlPlane.Service.Tests.Alerting;

/// <summary>Keeps every notice the grains publish (the seam delivery implements), optionally refusing the first ones.</summary>
internal sealed class CapturingNotifier(int refuseFirst = 0) : IAlertNotifier
{
    private readonly ConcurrentQueue<AlertNotice> _notices = new();
    private int _refused;

    public IReadOnlyList<AlertNotice> Notices => [.. _notices];

    public Task PublishAsync(AlertNotice notice, CancellationToken cancellationToken = default)
    {
        if (Interlocked.Increment(ref _refused) <= refuseFirst)
        {
            throw new InvalidOperationException("receiver store unavailable");
        }

        _notices.Enqueue(notice);
        return Task.CompletedTask;
    }

    public IReadOnlyList<AlertNotice> Of(string rule) => [.. Notices.Where(n => n.Rule == rule)];

    /// <summary>Waits (bounded) until a notice of <paramref name="rule"/> in <paramref name="state"/> arrived.</summary>
    public async Task<AlertNotice> WaitAsync(string rule, AlertState state, Domain.Slo.AlertSeverity? severity = null, int attempts = 3000)
    {
        var found = await Eventually.WaitAsync(() => Task.FromResult(Find()), n => n is not null, attempts);
        Assert.True(found is not null, $"no {state} notice of {rule}; got: {string.Join("; ", Notices.Select(n => $"{n.Key} {n.State} {n.Severity} #{n.Sequence}"))}");
        return found!;

        AlertNotice? Find() => Notices.LastOrDefault(n => n.Rule == rule && n.State == state && (severity is null || n.Severity == severity));
    }
}

/// <summary>A node with a capturing notifier, the test fleet and helpers to report outcomes and move the clock.</summary>
internal sealed class AlertHarness : IAsyncDisposable
{
    public const string Fleet = """
        alerting:
          thresholds:
            provider_rate_limited: { threshold: 0.05 }
        endpoints:
          - { id: prim, provider: openai, model: gpt, model_version: gpt-1-2025-01-01, region: us, context_window: 32000, price_per_1k: { input: 1, output: 0 }, owner_team: ai-platform, on_call: "#ai-oncall", baseline: { latency_p95_ms: 100 } }
          - { id: back, provider: anthropic, model: claude, model_version: claude-1-2025-01-01, region: us, context_window: 32000, price_per_1k: { input: 1, output: 0 }, owner_team: ai-platform, on_call: "#ai-oncall", alerts: { fallback_quality_decline: { window: 2d } } }
          - { id: side, provider: openai, model: gpt, model_version: gpt-1-2025-01-01, region: eu, context_window: 32000, price_per_1k: { input: 1, output: 0 }, owner_team: ml-infra, on_call: ml-oncall, alerts: { provider_error_rate: { threshold: 0.2 } }, baseline: { output_tokens_per_success: 100 } }
          - { id: lab, provider: vllm, model: llama, model_version: llama-3-r1, region: eu, context_window: 32000, price_per_1k: { input: 1, output: 0 }, owner_team: ml-infra, on_call: ml-oncall, deprecation: { date: 2027-01-15 } }
        classes:
          - { name: chat, owner: chat-team, mode: auto_fallback, priority: interactive, primary: [prim], fallbacks: [back], slo: { availability: 0.99, quality: 0.999 }, alerts: { provider_error_rate: { threshold: 0.02 } } }
          - { name: jobs, owner: jobs-team, mode: auto_fallback, primary: [side], fallbacks: [back], slo: { availability: 0.99 }, alerts: { cost_per_success: { baseline: 1d, for: 1h }, primary_rate_limit_trend: { window: 2h } } }
          - { name: research, owner: lab-team, production: false, mode: auto_fallback, primary: [lab], fallbacks: [back], slo: { availability: 0.99 } }
        """;

    private AlertHarness(ServiceNode node, FakeTimeProvider time, CapturingNotifier notices)
    {
        Node = node;
        Time = time;
        Notices = notices;
    }

    public ServiceNode Node { get; }

    public FakeTimeProvider Time { get; }

    public CapturingNotifier Notices { get; }

    public static async Task<AlertHarness> StartAsync(FakeTimeProvider time, TestStorage storage, CapturingNotifier? notices = null,
        Action<ControlPlaneOptions>? configure = null, CapturedLogs? logs = null)
    {
        notices ??= new CapturingNotifier();
        var node = await ServiceNode.StartAsync(time, storage, ServiceNode.Fleet(Fleet), configure,
            configureSilo: s =>
            {
                s.Services.AddSingleton<IAlertNotifier>(notices);
                if (logs is not null)
                {
                    s.Services.AddSingleton<Microsoft.Extensions.Logging.ILoggerProvider>(logs);
                }
            });
        return new AlertHarness(node, time, notices);
    }

    /// <summary>Reports <paramref name="count"/> outcomes and flushes them to the grains.</summary>
    public async Task ReportAsync(string endpoint, string workloadClass, int count, Wire.OutcomeStatus status = Wire.OutcomeStatus.Success,
        long latencyMs = 50, Wire.QualityVerdict quality = Wire.QualityVerdict.Unspecified, Wire.WorkflowVerdict workflow = Wire.WorkflowVerdict.Unspecified,
        long inputTokens = 0, string returnedModelVersion = "", long outputTokens = 0)
    {
        for (var i = 0; i < count; i++)
        {
            Node.Node.Report(new Wire.Outcome
            {
                EndpointId = endpoint,
                WorkloadClass = workloadClass,
                Status = status,
                HttpStatus = status switch
                {
                    Wire.OutcomeStatus.Success => 200,
                    Wire.OutcomeStatus.RateLimited => 429,
                    _ => 503,
                },
                LatencyMs = latencyMs,
                InputTokens = inputTokens,
                OutputTokens = outputTokens,
                Quality = quality == Wire.QualityVerdict.Unspecified ? null : new Wire.Quality { Verdict = quality },
                WorkflowVerdict = workflow,
                ReturnedModelVersion = returnedModelVersion,
            });
        }

        await Node.Node.FlushOutcomesAsync();
    }

    /// <summary>Moves the clock in <paramref name="step"/>s (the grains' timers fire along the way).</summary>
    public async Task AdvanceAsync(TimeSpan span, TimeSpan? step = null)
    {
        var by = step ?? TimeSpan.FromSeconds(10);
        for (var moved = TimeSpan.Zero; moved < span; moved += by)
        {
            Time.Advance(by);
            await Task.Delay(5);
        }
    }

    /// <summary>The alerts API's answer (the same operation as <c>GET /admin/v1/alerts</c>).</summary>
    public Task<AlertList> ListAsync(string? state = null) =>
        new AlertOperations(Node.Services.GetRequiredService<FleetCatalog>(), Node.Grains).ListAsync(state);

    /// <summary>Waits (bounded) until the API lists an alert of <paramref name="rule"/> in <paramref name="state"/>.</summary>
    public async Task<AlertView?> WaitListedAsync(string rule, string state) =>
        (await Eventually.WaitAsync(() => ListAsync("all"), l => l.Alerts.Any(a => a.Rule == rule && a.State == state), 3000))
            .Alerts.FirstOrDefault(a => a.Rule == rule && a.State == state);

    public ValueTask DisposeAsync() => Node.DisposeAsync();
}
