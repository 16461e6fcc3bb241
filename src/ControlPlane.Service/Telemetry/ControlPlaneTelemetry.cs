using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace ControlPlane.Service.Telemetry;

/// <summary>The names the control plane's telemetry is published under (<c>docs/telemetry.md</c>): one
/// <see cref="System.Diagnostics.Metrics.Meter"/> and one <see cref="System.Diagnostics.ActivitySource"/>, both named
/// <see cref="MeterName"/>, and the attribute keys every instrument uses. Attribute values come from validated, bounded
/// sets only (fleet ids, enum names), never from raw client strings.</summary>
public static class ControlPlaneTelemetry
{
    /// <summary>The meter every control-plane instrument is registered on.</summary>
    public const string MeterName = "ControlPlane";

    /// <summary>The activity source of the control plane's spans (Route, ReportOutcome(s), admin actions).</summary>
    public const string ActivitySourceName = "ControlPlane";

    /// <summary>The meter tag naming the node whose instruments a meter holds (a meter-level attribute, so per-call
    /// measurements carry no extra tag).</summary>
    public const string NodeTag = "controlplane.node";

    /// <summary>Orleans' meter.</summary>
    public const string OrleansMeterName = "Microsoft.Orleans";

    /// <summary>Orleans' activity sources (grain calls; <c>AddActivityPropagation</c> carries the context through them).</summary>
    public static readonly IReadOnlyList<string> OrleansActivitySources = ["Microsoft.Orleans.Runtime", "Microsoft.Orleans.Application"];

    /// <summary>The control plane's activity source. Static: <see cref="ActivitySource.StartActivity(string, ActivityKind)"/>
    /// returns null (and costs next to nothing) unless a listener samples the span.</summary>
    public static readonly ActivitySource Source = new(ActivitySourceName);

    /// <summary>A span named <paramref name="name"/> under the current activity when that activity is sampled
    /// (recorded), else null without touching the source. A data-plane call's current activity is the ASP.NET Core
    /// request span, sampled parent-based (the caller's <c>traceparent</c>, else <c>--trace-sample</c>); a child of an
    /// unsampled parent would be dropped by the same parent-based sampler anyway, but the SDK still creates it (for
    /// context propagation), which costs an activity, two ids and two async-local writes per call on the Route path.</summary>
    public static Activity? StartIfSampled(string name) =>
        Activity.Current is { Recorded: true } ? Source.StartActivity(name) : null;

    /// <summary>Creates (or takes from the factory's cache) the <see cref="MeterName"/> meter of one node.</summary>
    internal static Meter CreateMeter(IMeterFactory? factory, string? nodeId)
    {
        var options = new MeterOptions(MeterName)
        {
            Tags = nodeId is null ? null : [new KeyValuePair<string, object?>(NodeTag, nodeId)],
        };
        return factory?.Create(options) ?? new Meter(options);
    }

    /// <summary>Attribute keys.</summary>
    public static class Keys
    {
        /// <summary>The workload class (a fleet class name).</summary>
        public const string WorkloadClass = "controlplane.workload_class";

        /// <summary>The endpoint (a fleet endpoint id, or <c>none</c>).</summary>
        public const string Endpoint = "controlplane.endpoint";

        /// <summary>The route reason (wire name).</summary>
        public const string RouteReason = "controlplane.route_reason";

        /// <summary>The outcome status.</summary>
        public const string OutcomeStatus = "controlplane.outcome.status";

        /// <summary>Whether the endpoint is not the class's primary.</summary>
        public const string Fallback = "controlplane.fallback";

        /// <summary>The quality verdict (pass, fail).</summary>
        public const string QualityVerdict = "controlplane.quality.verdict";

        /// <summary>The workflow verdict (completed, failed).</summary>
        public const string WorkflowVerdict = "controlplane.workflow.verdict";

        /// <summary>A breaker state.</summary>
        public const string BreakerState = "controlplane.breaker.state";

        /// <summary>The breaker state a transition left.</summary>
        public const string BreakerFrom = "controlplane.breaker.from";

        /// <summary>The breaker state a transition entered.</summary>
        public const string BreakerTo = "controlplane.breaker.to";

        /// <summary>What tripped (or cleared) the breaker.</summary>
        public const string BreakerSignal = "controlplane.breaker.signal";

        /// <summary>Endpoint or class (quotas, leases).</summary>
        public const string Scope = "controlplane.scope";

        /// <summary>The endpoint id or class name of <see cref="Scope"/>.</summary>
        public const string ScopeId = "controlplane.scope.id";

        /// <summary>The quota kind (rpm, tpm, usd_day, usd_month).</summary>
        public const string QuotaKind = "controlplane.quota.kind";

        /// <summary>The SLO objective (availability, quality, latency).</summary>
        public const string SloObjective = "controlplane.slo.objective";

        /// <summary>The burn-rate window (5m, 30m, 1h, 6h, ...).</summary>
        public const string SloWindow = "controlplane.slo.window";

        /// <summary>What kind of change a push carried (endpoint, class, keys, fleet).</summary>
        public const string ChangeKind = "controlplane.change.kind";

        /// <summary>How a held Route call's wait ended.</summary>
        public const string QueueResult = "controlplane.queue.result";

        /// <summary>gen_ai: the operation (always <c>chat</c>).</summary>
        public const string GenAiOperation = "gen_ai.operation.name";

        /// <summary>gen_ai: the provider.</summary>
        public const string GenAiProvider = "gen_ai.provider.name";

        /// <summary>gen_ai: the model the endpoint pins.</summary>
        public const string GenAiRequestModel = "gen_ai.request.model";

        /// <summary>gen_ai: the model version the provider returned (else the pinned one).</summary>
        public const string GenAiResponseModel = "gen_ai.response.model";

        /// <summary>gen_ai: input or output.</summary>
        public const string GenAiTokenType = "gen_ai.token.type";

        /// <summary>The error type of a failed operation (the outcome status).</summary>
        public const string ErrorType = "error.type";
    }
}
