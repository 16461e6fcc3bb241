using ControlPlane.Service.Tests.Support;
using Microsoft.Extensions.Time.Testing;
using OpenTelemetry.Metrics;
using Keys = ControlPlane.Service.Telemetry.ControlPlaneTelemetry.Keys;
using Wire = ControlPlane.Contracts.V1;

namespace ControlPlane.Service.Tests.Telemetry;

/// <summary>The node's instruments seen through the OpenTelemetry SDK (in-memory exporter): a Route counts a decision
/// by class, endpoint and reason; an accepted outcome counts by status and fallback and feeds the gen_ai duration,
/// time-to-first-chunk and token histograms, the cost counter and the verdict counters; and Route allocates nothing
/// more with the instruments listened to than without.</summary>
public sealed class RouteTelemetryTests : IDisposable
{
    private readonly FakeTimeProvider _time = new();
    private readonly TestStorage _storage = new();
    private readonly TelemetryFleet _fleet = new();

    [Fact]
    public async Task Route_and_outcomes_produce_the_pre_assigned_instruments_and_attributes()
    {
        await using var node = await ServiceNode.StartAsync(_time, _storage, _fleet.Fleet, _fleet.Configure());
        var cls = (Keys.WorkloadClass, _fleet.Class);

        var decision = node.Route(_fleet.Class);
        Assert.Equal(_fleet.Primary, decision.EndpointId);
        Assert.Equal(1, _fleet.Sum("controlplane.route.decisions", cls, (Keys.Endpoint, _fleet.Primary), (Keys.RouteReason, "primary")));

        node.Node.Report(new Wire.Outcome
        {
            EndpointId = _fleet.Primary, WorkloadClass = _fleet.Class, Status = Wire.OutcomeStatus.Success, LatencyMs = 1_500, TtftMs = 250,
            InputTokens = 1_000, OutputTokens = 500, Quality = new Wire.Quality { Verdict = Wire.QualityVerdict.Pass },
            WorkflowVerdict = Wire.WorkflowVerdict.Completed,
        });
        node.Node.Report(new Wire.Outcome
        {
            EndpointId = _fleet.Backup, WorkloadClass = _fleet.Class, Status = Wire.OutcomeStatus.RateLimited, LatencyMs = 40,
            WorkflowVerdict = Wire.WorkflowVerdict.Failed,
        });

        Assert.Equal(1, _fleet.Sum("controlplane.outcomes", cls, (Keys.Endpoint, _fleet.Primary), (Keys.GenAiProvider, "openai"),
            (Keys.OutcomeStatus, "success"), (Keys.Fallback, "false")));
        Assert.Equal(1, _fleet.Sum("controlplane.outcomes", cls, (Keys.Endpoint, _fleet.Backup), (Keys.GenAiProvider, "anthropic"),
            (Keys.OutcomeStatus, "rate_limited"), (Keys.Fallback, "true")));

        var success = Assert.Single(_fleet.Points("gen_ai.client.operation.duration", cls, (Keys.Endpoint, _fleet.Primary)));
        Assert.Equal(("chat", "gpt", "gpt-1"), ((string?)success.Tags[Keys.GenAiOperation], (string?)success.Tags[Keys.GenAiRequestModel],
            (string?)success.Tags[Keys.GenAiResponseModel]));
        Assert.False(success.Tags.ContainsKey(Keys.ErrorType));
        Assert.Equal((1, 1.5), (success.Point.GetHistogramCount(), success.Point.GetHistogramSum()));
        var failure = Assert.Single(_fleet.Points("gen_ai.client.operation.duration", cls, (Keys.Endpoint, _fleet.Backup)));
        Assert.Equal("rate_limited", failure.Tags[Keys.ErrorType]);
        var ttft = Assert.Single(_fleet.Points("gen_ai.client.operation.time_to_first_chunk", cls));
        Assert.Equal(0.25, ttft.Point.GetHistogramSum());

        var input = Assert.Single(_fleet.Points("gen_ai.client.token.usage", cls, (Keys.GenAiTokenType, "input")));
        var output = Assert.Single(_fleet.Points("gen_ai.client.token.usage", cls, (Keys.GenAiTokenType, "output")));
        Assert.Equal((1_000.0, 500.0), (input.Point.GetHistogramSum(), output.Point.GetHistogramSum()));
        var cost = Assert.Single(_fleet.Points("controlplane.cost.usd", cls, (Keys.Endpoint, _fleet.Primary)));
        Assert.Equal(0.002 + 0.004, cost.Point.GetSumDouble(), 9);
        Assert.Equal(1, _fleet.Sum("controlplane.quality.verdicts", cls, (Keys.Endpoint, _fleet.Primary), (Keys.QualityVerdict, "pass")));
        Assert.Equal(1, _fleet.Sum("controlplane.workflow.verdicts", cls, (Keys.WorkflowVerdict, "completed")));
        Assert.Equal(1, _fleet.Sum("controlplane.workflow.verdicts", cls, (Keys.WorkflowVerdict, "failed")));
    }

    [Fact]
    public async Task A_decision_without_an_endpoint_is_counted_with_endpoint_none()
    {
        await using var node = await ServiceNode.StartAsync(_time, _storage, _fleet.Fleet, _fleet.Configure());
        var decision = node.Node.Route(new Wire.RouteRequest
        {
            WorkloadClass = _fleet.Class, EstimatedInputTokens = 10, MaxOutputTokens = 10, ExcludeEndpointIds = { _fleet.Primary, _fleet.Backup },
        }, null);

        Assert.Equal("", decision.EndpointId);
        Assert.Equal(1, _fleet.Sum("controlplane.route.decisions", (Keys.WorkloadClass, _fleet.Class), (Keys.Endpoint, "none"),
            (Keys.RouteReason, decision.RouteReason)));
    }

    [Fact]
    public async Task The_workflow_verdict_reaches_the_class_grain_on_the_outcome_record()
    {
        var seen = new System.Collections.Concurrent.ConcurrentQueue<Wire.WorkflowVerdict>();
        await using var node = await ServiceNode.StartAsync(_time, _storage, _fleet.Fleet, _fleet.Configure(),
            configureSilo: s => s.AddIncomingGrainCallFilter(context =>
            {
                if (context.Request.GetArgumentCount() > 0 && context.Request.GetArgument(0) is ControlPlane.Service.Grains.OutcomeBatch batch
                    && context.TargetId.Type.ToString() == "class")
                {
                    foreach (var outcome in batch.Outcomes)
                    {
                        seen.Enqueue(outcome.WorkflowVerdict);
                    }
                }

                return context.Invoke();
            }));

        node.Node.Report(new Wire.Outcome
        {
            EndpointId = _fleet.Primary, WorkloadClass = _fleet.Class, Status = Wire.OutcomeStatus.Success, LatencyMs = 10,
            WorkflowVerdict = Wire.WorkflowVerdict.Failed,
        });
        await node.Node.FlushOutcomesAsync();

        Assert.Contains(Wire.WorkflowVerdict.Failed, seen);
    }

    [Fact]
    public async Task Route_allocates_no_more_with_the_instruments_listened_to_than_without()
    {
        // The SDK provider of this test listens already; a second fleet's node is measured with and without it.
        await using var node = await ServiceNode.StartAsync(_time, _storage, _fleet.Fleet, _fleet.Configure());
        var request = new Wire.RouteRequest { WorkloadClass = _fleet.Class, EstimatedInputTokens = 10, MaxOutputTokens = 10 };
        const int calls = 2_000;

        long Measure()
        {
            for (var i = 0; i < 200; i++)
            {
                node.Node.Route(request, null);
            }

            var before = GC.GetAllocatedBytesForCurrentThread();
            for (var i = 0; i < calls; i++)
            {
                node.Node.Route(request, null);
            }

            return GC.GetAllocatedBytesForCurrentThread() - before;
        }

        var on = Measure();
        Assert.True(_fleet.Sum("controlplane.route.decisions", (Keys.WorkloadClass, _fleet.Class)) >= calls, "the decisions were not measured");
        _fleet.Dispose();
        var off = Measure();

        // Per call, within a few bytes (thread-static buffers of the SDK may be made once): the counter itself adds nothing.
        Assert.True(on <= off + (calls * 4), $"Route allocated {on / (double)calls:F1} B/call with telemetry on, {off / (double)calls:F1} B/call off");
    }

    public void Dispose()
    {
        _fleet.Dispose();
        _storage.Dispose();
    }
}
