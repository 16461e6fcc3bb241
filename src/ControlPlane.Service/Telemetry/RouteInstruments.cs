using TagList = System.Diagnostics.TagList;
using System.Diagnostics.Metrics;
using ControlPlane.Domain.Endpoints;
using ControlPlane.Domain.Health;
using ControlPlane.Domain.Routing;
using WorkflowVerdict = ControlPlane.Contracts.V1.WorkflowVerdict;
using Keys = ControlPlane.Service.Telemetry.ControlPlaneTelemetry.Keys;

namespace ControlPlane.Service.Telemetry;

/// <summary>The routing node's per-call instruments on the <see cref="ControlPlaneTelemetry.MeterName"/> meter:
/// <c>controlplane.route.decisions</c> (Route), and per accepted outcome <c>controlplane.outcomes</c>, the gen_ai
/// duration, time-to-first-chunk and token histograms, <c>controlplane.cost.usd</c> and the quality and workflow
/// verdicts; plus the node's view of each endpoint's breaker (<c>controlplane.breaker.state</c>, observed).
/// Every tag is a fleet name or an enum name, made once here: a decision adds to a counter with three cached tags
/// (no allocation), an outcome builds a <see cref="TagList"/> on the stack.</summary>
internal sealed class RouteInstruments : IDisposable
{
    /// <summary>The breaker states the gauge reports (1 for the current one, 0 for the others).</summary>
    internal static readonly string[] BreakerStates = ["closed", "open", "half_open", "forced_open", "forced_closed", "draining"];

    private static readonly string[] StatusNames =
        ["success", "server_error", "rate_limited", "timeout", "connection_error", "invalid_response", "content_filter", "client_error"];

    private static readonly KeyValuePair<string, object?> Chat = new(Keys.GenAiOperation, "chat");
    private static readonly KeyValuePair<string, object?> NoEndpoint = new(Keys.Endpoint, "none");
    private static readonly KeyValuePair<string, object?> Input = new(Keys.GenAiTokenType, "input");
    private static readonly KeyValuePair<string, object?> Output = new(Keys.GenAiTokenType, "output");

    private readonly Meter _meter;
    private readonly bool _ownsMeter;
    private readonly KeyValuePair<string, object?>[] _classTags;
    private readonly KeyValuePair<string, object?>[] _endpointTags;
    private readonly KeyValuePair<string, object?>[] _reasonTags;
    private readonly Counter<long> _decisions;
    private readonly Counter<long> _outcomes;
    private readonly Histogram<double> _duration;
    private readonly Histogram<double> _firstChunk;
    private readonly Histogram<long> _tokens;
    private readonly Counter<double> _cost;
    private readonly Counter<long> _quality;
    private readonly Counter<long> _workflow;
    private readonly Histogram<double> _propagation;

    /// <summary>The <c>controlplane.change.kind</c> of an endpoint push.</summary>
    internal static readonly KeyValuePair<string, object?> EndpointChange = new(Keys.ChangeKind, "endpoint");

    /// <summary>The <c>controlplane.change.kind</c> of a class push.</summary>
    internal static readonly KeyValuePair<string, object?> ClassChange = new(Keys.ChangeKind, "class");

    /// <param name="meterFactory">The host's meter factory (null: a meter of our own, disposed with this).</param>
    /// <param name="nodeId">The node, a meter tag.</param>
    /// <param name="classNames">The fleet's classes, in snapshot order.</param>
    /// <param name="endpointIds">The fleet's endpoints, in snapshot order.</param>
    /// <param name="breakerState">The node's view of an endpoint's breaker, an index into <see cref="BreakerStates"/>.</param>
    public RouteInstruments(IMeterFactory? meterFactory, string nodeId, IReadOnlyList<string> classNames, IReadOnlyList<string> endpointIds,
        Func<int, int> breakerState)
    {
        _ownsMeter = meterFactory is null;
        _meter = ControlPlaneTelemetry.CreateMeter(meterFactory, nodeId);
        _classTags = [.. classNames.Select(c => new KeyValuePair<string, object?>(Keys.WorkloadClass, c))];
        _endpointTags = [.. endpointIds.Select(e => new KeyValuePair<string, object?>(Keys.Endpoint, e))];
        _reasonTags = [.. RouteReasonNames.All.Select(r => new KeyValuePair<string, object?>(Keys.RouteReason, r))];
        _decisions = _meter.CreateCounter<long>("controlplane.route.decisions", "{decision}",
            "Route decisions by workload class, endpoint (none when no endpoint) and route reason.");
        _outcomes = _meter.CreateCounter<long>("controlplane.outcomes", "{outcome}",
            "Outcomes accepted by this node, by class, endpoint, provider, status and whether the endpoint is a fallback.");
        _duration = _meter.CreateHistogram<double>("gen_ai.client.operation.duration", "s", "Duration of a provider call, as reported in its outcome.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92] });
        _firstChunk = _meter.CreateHistogram<double>("gen_ai.client.operation.time_to_first_chunk", "s",
            "Time to the first chunk of a streamed provider answer, as reported in its outcome.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24] });
        _tokens = _meter.CreateHistogram<long>("gen_ai.client.token.usage", "{token}", "Tokens used by a provider call, input and output.",
            advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304] });
        _cost = _meter.CreateCounter<double>("controlplane.cost.usd", "{USD}", "Cost of the reported calls in US dollars (the endpoint's prices).");
        _quality = _meter.CreateCounter<long>("controlplane.quality.verdicts", "{verdict}", "Quality verdicts reported with outcomes.");
        _workflow = _meter.CreateCounter<long>("controlplane.workflow.verdicts", "{verdict}", "Workflow verdicts reported with outcomes.");
        _propagation = _meter.CreateHistogram<double>("controlplane.propagation.lag", "s",
            "From a grain's publication of a change (its publication version: the wall clock in microseconds) to the push reaching this node.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10] });
        var breakerTags = endpointIds.Select(e => BreakerStates.Select(s => new KeyValuePair<string, object?>[]
        {
            new(Keys.Endpoint, e), new(Keys.BreakerState, s),
        }).ToArray()).ToArray();
        _meter.CreateObservableGauge("controlplane.breaker.state", () => BreakerGauge(breakerTags, breakerState), "1",
            "The node's view of each endpoint's breaker: 1 for the current state, 0 for the others.");
    }

    /// <summary>The status's attribute value.</summary>
    internal static string StatusName(OutcomeStatus status) => StatusNames[(int)status];

    /// <summary>Counts a decision (allocation-free: three cached tags).</summary>
    public void Decided(int classIndex, int endpointIndex, RouteReason reason)
    {
        if (!_decisions.Enabled)
        {
            return;
        }

        _decisions.Add(1, _classTags[classIndex], endpointIndex >= 0 && endpointIndex < _endpointTags.Length ? _endpointTags[endpointIndex] : NoEndpoint,
            _reasonTags[(int)reason]);
    }

    /// <summary>Records an accepted outcome.</summary>
    /// <param name="classIndex">Its class.</param>
    /// <param name="endpointIndex">Its endpoint.</param>
    /// <param name="endpoint">The endpoint's descriptor (provider, pinned model).</param>
    /// <param name="sample">The validated outcome.</param>
    /// <param name="fallback">True when the endpoint is not the class's primary.</param>
    /// <param name="modelChanged">True when the provider reported another model version than the pinned one.</param>
    /// <param name="workflow">The workflow verdict, if reported.</param>
    public void Outcome(int classIndex, int endpointIndex, EndpointDescriptor endpoint, in OutcomeSample sample, bool fallback, bool modelChanged,
        WorkflowVerdict workflow)
    {
        var cls = _classTags[classIndex];
        var ep = _endpointTags[endpointIndex];
        var provider = new KeyValuePair<string, object?>(Keys.GenAiProvider, endpoint.Provider);
        var status = StatusNames[(int)sample.Status];
        if (_outcomes.Enabled)
        {
            var tags = new TagList { cls, ep, provider, { Keys.OutcomeStatus, status }, { Keys.Fallback, fallback ? "true" : "false" } };
            _outcomes.Add(1, in tags);
        }

        var requestModel = new KeyValuePair<string, object?>(Keys.GenAiRequestModel, endpoint.Model);
        if (_duration.Enabled || _firstChunk.Enabled)
        {
            // The reported version is the caller's string: a changed one is named "unpinned", never echoed (cardinality);
            // the model-version-change alert names it.
            var responseModel = modelChanged ? "unpinned" : endpoint.ModelVersion.Length > 0 ? endpoint.ModelVersion : endpoint.Model;
            var tags = new TagList { Chat, provider, requestModel, { Keys.GenAiResponseModel, responseModel }, cls, ep };
            if (sample.Status != OutcomeStatus.Success)
            {
                tags.Add(Keys.ErrorType, status);
            }

            _duration.Record(sample.Latency.TotalSeconds, in tags);
            if (sample.TimeToFirstToken > TimeSpan.Zero)
            {
                _firstChunk.Record(sample.TimeToFirstToken.TotalSeconds, in tags);
            }
        }

        if (_tokens.Enabled && (sample.InputTokens > 0 || sample.OutputTokens > 0))
        {
            var tags = new TagList { Input, provider, requestModel, cls, ep };
            _tokens.Record(sample.InputTokens, in tags);
            tags[0] = Output;
            _tokens.Record(sample.OutputTokens, in tags);
        }

        if (sample.Cost > 0)
        {
            _cost.Add(sample.Cost, cls, ep);
        }

        if (sample.Quality != QualityVerdict.None)
        {
            _quality.Add(1, cls, ep, new KeyValuePair<string, object?>(Keys.QualityVerdict, sample.Quality == QualityVerdict.Pass ? "pass" : "fail"));
        }

        if (workflow is WorkflowVerdict.Completed or WorkflowVerdict.Failed)
        {
            _workflow.Add(1, cls, new KeyValuePair<string, object?>(Keys.WorkflowVerdict, workflow == WorkflowVerdict.Completed ? "completed" : "failed"));
        }
    }

    /// <summary>Records a push's propagation lag: now minus its publication version (microseconds since the epoch, at
    /// least the publisher's wall clock). A version ahead of now (another node's clock, or a version bumped past it) or
    /// over an hour old (a replay) is not a lag and is skipped.</summary>
    public void Propagated(KeyValuePair<string, object?> kind, long publicationVersion, DateTimeOffset now)
    {
        if (!_propagation.Enabled)
        {
            return;
        }

        var lagMicroseconds = (now.ToUnixTimeMilliseconds() * 1000) - publicationVersion;
        if (lagMicroseconds is >= 0 and <= 3_600_000_000)
        {
            _propagation.Record(lagMicroseconds / 1e6, kind);
        }
    }

    public void Dispose()
    {
        if (_ownsMeter)
        {
            _meter.Dispose();
        }
    }

    private static Measurement<int>[] BreakerGauge(KeyValuePair<string, object?>[][][] tags, Func<int, int> breakerState)
    {
        var measurements = new Measurement<int>[tags.Length * BreakerStates.Length];
        for (var e = 0; e < tags.Length; e++)
        {
            var current = breakerState(e);
            for (var s = 0; s < BreakerStates.Length; s++)
            {
                measurements[(e * BreakerStates.Length) + s] = new Measurement<int>(s == current ? 1 : 0, tags[e][s]);
            }
        }

        return measurements;
    }
}
