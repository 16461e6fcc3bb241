using ControlPlane.Domain.Endpoints;
using ControlPlane.Domain.Quotas;

namespace ControlPlane.Domain.Policy;

/// <summary>An approved fallback endpoint of a workload class.</summary>
public sealed record FallbackApproval
{
    /// <summary>The endpoint id.</summary>
    public required string EndpointId { get; init; }

    /// <summary>The score this endpoint got in the class's quality eval, in [0, 1]; null if never evaluated.
    /// When the class has a <see cref="WorkloadClassPolicy.QualityGate"/>, the fallback is only used if its
    /// score meets the gate.</summary>
    public double? EvalScore { get; init; }
}

/// <summary>
/// A workload class's routing policy: the fallback approval matrix. Primaries take the traffic (balanced
/// among themselves); approved fallbacks are tried in order when no primary can take a request (only in
/// <see cref="RoutingMode.AutoFallback"/>); prohibited endpoints are never used, whatever happens.
/// </summary>
public sealed record WorkloadClassPolicy
{
    /// <summary>Most approved endpoints (primaries plus fallbacks) a class may list; bounds the decision's stack use.</summary>
    public const int MaxApprovedEndpoints = 64;

    /// <summary>Class name, e.g. <c>support-chat</c>.</summary>
    public required string Name { get; init; }

    /// <summary>What happens when no primary can take a request.</summary>
    /// <value>Defaults to <see cref="RoutingMode.AutoFallback"/>.</value>
    public RoutingMode Mode { get; init; } = RoutingMode.AutoFallback;

    /// <summary>Primary endpoint ids; traffic is balanced among them. At least one.</summary>
    public IReadOnlyList<string> Primary { get; init; } = [];

    /// <summary>Approved fallbacks, in the order they are tried.</summary>
    public IReadOnlyList<FallbackApproval> Fallbacks { get; init; } = [];

    /// <summary>Endpoints this class must never use (data residency, contracts, quality).</summary>
    public IReadOnlyList<string> Prohibited { get; init; } = [];

    /// <summary>Smallest context window an endpoint needs to serve this class; 0 for no condition.</summary>
    /// <value>Must not be negative. Defaults to 0.</value>
    public int MinContextWindow { get; init; }

    /// <summary>Capabilities every endpoint of this class must offer (tools, vision, JSON mode, ...).</summary>
    public Capabilities RequiredCapabilities { get; init; }

    /// <summary>Minimum quality-eval score a fallback needs, in [0, 1]; null for no gate.</summary>
    public double? QualityGate { get; init; }

    /// <summary>When fewer approved endpoints than this are available, <see cref="Panic"/> applies; 0 disables.</summary>
    /// <value>Must not be negative. Defaults to 0.</value>
    public int PanicThreshold { get; init; }

    /// <summary>What to do below the panic threshold.</summary>
    /// <value>Defaults to <see cref="PanicMode.SpreadOverApproved"/>.</value>
    public PanicMode Panic { get; init; } = PanicMode.SpreadOverApproved;

    /// <summary>Priority of the class when classes contend for an endpoint's capacity.</summary>
    /// <value>Defaults to <see cref="WorkloadPriority.Standard"/>.</value>
    public WorkloadPriority Priority { get; init; } = WorkloadPriority.Standard;

    /// <summary>Weight of the class's fair share of each endpoint's capacity.</summary>
    /// <value>Must be between 1 and 10,000. Defaults to 1.</value>
    public int Weight { get; init; } = 1;

    /// <summary>The class's own token/request budget, if it has one.</summary>
    public QuotaLimits? Budget { get; init; }

    /// <summary>The class's spend ceilings (USD per UTC day / month), if it has any. Like <see cref="Budget"/> it comes
    /// from the fleet file only.</summary>
    public SpendCeiling? Spend { get; init; }

    /// <summary>This class's claim on an endpoint's capacity, for <see cref="FairShareQuota"/>.</summary>
    public ClassShare ToShare() => new(Name, Weight, Priority);

    /// <summary>True when <paramref name="fallback"/> passes this class's quality gate.</summary>
    public bool PassesQualityGate(FallbackApproval fallback)
    {
        ArgumentNullException.ThrowIfNull(fallback);
        return QualityGate is not { } gate || (fallback.EvalScore is { } score && score >= gate);
    }

    /// <summary>True when <paramref name="endpoint"/> meets this class's conditions (context window, capabilities).</summary>
    public bool Admits(EndpointDescriptor endpoint)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        return endpoint.ContextWindow >= MinContextWindow
            && (endpoint.Capabilities & RequiredCapabilities) == RequiredCapabilities;
    }
}
