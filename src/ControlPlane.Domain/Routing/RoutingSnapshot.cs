using ControlPlane.Domain.Endpoints;
using ControlPlane.Domain.Policy;

namespace ControlPlane.Domain.Routing;

/// <summary>
/// A node's read-mostly routing state: the endpoint catalog with ids interned to dense indices, each
/// endpoint's <see cref="EndpointHealthView"/> and <see cref="EndpointLoad"/>, half-open probe slots, and
/// every workload class's policy compiled to index arrays (primaries, then approved fallbacks that meet the
/// class's conditions and quality gate; prohibited endpoints are left out here, so no decision can pick one).
/// Built once per catalog/policy change; health, load and probe slots are updated in place as pushes and
/// outcomes arrive. Writers must be serialised (one push loop per node); decisions may run concurrently:
/// an endpoint's health is swapped as one immutable object, so a decision never sees half a transition
/// (load figures are heuristics and may be read mid-update).
/// </summary>
public sealed class RoutingSnapshot
{
    private readonly EndpointDescriptor[] _endpoints;
    private readonly WorkloadClassPolicy[] _policies;
    private readonly Dictionary<string, int> _endpointIndex;
    private readonly Dictionary<string, int> _classIndex;
    // Node-local requests in flight per endpoint (see AddInFlight); shared with the snapshot this one replaces.
    private int[] _inFlight;

    private RoutingSnapshot(
        long version,
        EndpointDescriptor[] endpoints,
        EndpointSlot[] slots,
        WorkloadClassPolicy[] policies,
        ClassRoute[] classes,
        Dictionary<string, int> endpointIndex,
        Dictionary<string, int> classIndex)
    {
        Version = version;
        _endpoints = endpoints;
        Slots = slots;
        Loads = new EndpointLoad[endpoints.Length];
        ProbeSlots = new int[endpoints.Length];
        ProbeDemand = new int[endpoints.Length];
        _inFlight = new int[endpoints.Length];
        _policies = policies;
        Classes = classes;
        _endpointIndex = endpointIndex;
        _classIndex = classIndex;
    }

    /// <summary>Routing table version this snapshot was built from.</summary>
    public long Version { get; }

    /// <summary>Number of endpoints.</summary>
    public int EndpointCount => _endpoints.Length;

    /// <summary>Number of workload classes.</summary>
    public int ClassCount => _policies.Length;

    internal EndpointSlot[] Slots { get; }

    internal EndpointLoad[] Loads { get; }

    internal int[] ProbeSlots { get; }

    internal int[] ProbeDemand { get; }

    internal ClassRoute[] Classes { get; }

    /// <summary>Builds a snapshot. <paramref name="health"/> is parallel to <paramref name="endpoints"/>.
    /// Every policy must validate (<see cref="PolicyValidator"/>); endpoints a policy names that are not in
    /// the catalog, or that miss the class's conditions, are left out of that class's candidates.</summary>
    public static RoutingSnapshot Create(
        IReadOnlyList<EndpointDescriptor> endpoints,
        IReadOnlyList<EndpointHealthView> health,
        IReadOnlyList<WorkloadClassPolicy> classes,
        long version = 0)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(health);
        ArgumentNullException.ThrowIfNull(classes);
        if (health.Count != endpoints.Count)
        {
            throw new ArgumentException("health: must have one entry per endpoint", nameof(health));
        }

        var descriptors = new EndpointDescriptor[endpoints.Count];
        var slots = new EndpointSlot[endpoints.Count];
        var endpointIndex = new Dictionary<string, int>(endpoints.Count, StringComparer.Ordinal);
        for (int i = 0; i < endpoints.Count; i++)
        {
            var e = endpoints[i] ?? throw new ArgumentException($"endpoints[{i}]: must not be null", nameof(endpoints));
            if (!endpointIndex.TryAdd(e.Id, i))
            {
                throw new ArgumentException($"endpoints[{i}].id: '{e.Id}' is listed twice", nameof(endpoints));
            }

            descriptors[i] = e;
            slots[i] = EndpointSlot.From(e, health[i]);
        }

        var policies = new WorkloadClassPolicy[classes.Count];
        var routes = new ClassRoute[classes.Count];
        var classIndex = new Dictionary<string, int>(classes.Count, StringComparer.Ordinal);
        for (int c = 0; c < classes.Count; c++)
        {
            var policy = classes[c] ?? throw new ArgumentException($"classes[{c}]: must not be null", nameof(classes));
            PolicyValidator.ThrowIfInvalid(policy);
            if (!classIndex.TryAdd(policy.Name, c))
            {
                throw new ArgumentException($"classes[{c}].name: '{policy.Name}' is listed twice", nameof(classes));
            }

            policies[c] = policy;
            routes[c] = ClassRoute.Compile(policy, descriptors, endpointIndex);
        }

        return new RoutingSnapshot(version, descriptors, slots, policies, routes, endpointIndex, classIndex);
    }

    /// <summary>Interns an endpoint id (allocation-free).</summary>
    public bool TryGetEndpointIndex(string endpointId, out int index) => _endpointIndex.TryGetValue(endpointId, out index);

    /// <summary>Interns a workload class name (allocation-free).</summary>
    public bool TryGetClassIndex(string className, out int index) => _classIndex.TryGetValue(className, out index);

    /// <summary>The catalog entry at <paramref name="index"/>.</summary>
    public EndpointDescriptor EndpointAt(int index) => _endpoints[index];

    /// <summary>The policy of class <paramref name="classIndex"/>.</summary>
    public WorkloadClassPolicy ClassAt(int classIndex) => _policies[classIndex];

    /// <summary>Applies a pushed health change (breaker transition, override, ramp step, 429 cooldown).</summary>
    public void SetHealth(int index, in EndpointHealthView health) => Volatile.Write(ref Slots[index], EndpointSlot.From(_endpoints[index], health));

    /// <summary>Applies the node's latest load figures for an endpoint.</summary>
    public void SetLoad(int index, in EndpointLoad load) => Loads[index] = load;

    /// <summary>The node's load figures for an endpoint.</summary>
    public EndpointLoad LoadAt(int index) => Loads[index];

    /// <summary>Sets how many half-open probes this node may still send to the endpoint (granted by its grain,
    /// which bounds probes cluster-wide). Each probe decision consumes one.</summary>
    public void SetProbeSlots(int index, int slots) => Volatile.Write(ref ProbeSlots[index], Math.Max(0, slots));

    /// <summary>Probe slots left for an endpoint.</summary>
    public int ProbeSlotsAt(int index) => Volatile.Read(ref ProbeSlots[index]);

    /// <summary>Adds <paramref name="slots"/> granted probe slots to an endpoint, atomically with concurrent decisions
    /// taking them.</summary>
    public void AddProbeSlots(int index, int slots) => Interlocked.Add(ref ProbeSlots[index], Math.Max(0, slots));

    /// <summary>Takes every probe slot left for an endpoint (they are no longer valid, or move to a rebuilt
    /// snapshot); returns how many there were.</summary>
    public int TakeProbeSlots(int index) => Math.Max(0, Interlocked.Exchange(ref ProbeSlots[index], 0));

    /// <summary>Counts one more request this node has in flight to an endpoint (a decision issued for it). Lock-free and
    /// allocation-free: the one <see cref="Interlocked.Increment(ref int)"/> of the hot path. Power-of-two-choices adds
    /// the count to the endpoint's published <see cref="EndpointLoad.InFlight"/>.</summary>
    public void AddInFlight(int index) => Interlocked.Increment(ref _inFlight[index]);

    /// <summary>Counts one request in flight to an endpoint as finished (its outcome arrived, or it expired unreported);
    /// never below zero.</summary>
    public void ReleaseInFlight(int index)
    {
        ref int count = ref _inFlight[index];
        while (true)
        {
            int current = Volatile.Read(ref count);
            if (current <= 0 || Interlocked.CompareExchange(ref count, current - 1, current) == current)
            {
                return;
            }
        }
    }

    /// <summary>Requests this node has in flight to an endpoint (<see cref="AddInFlight"/>).</summary>
    public int InFlightAt(int index) => Volatile.Read(ref _inFlight[index]);

    /// <summary>Carries the in-flight counts of <paramref name="previous"/> (the snapshot this one replaces, same
    /// endpoints in the same order) over by sharing its counters: a decision still routing on the old snapshot, or an
    /// outcome arriving after the swap, counts on the same figure. Call before publishing this snapshot; a catalog of
    /// another size keeps its own (zero) counts.</summary>
    public void CarryInFlightFrom(RoutingSnapshot previous)
    {
        ArgumentNullException.ThrowIfNull(previous);
        if (previous._inFlight.Length == _inFlight.Length)
        {
            _inFlight = previous._inFlight;
        }
    }

    /// <summary>True once (then reset) after a decision wanted to probe the half-open endpoint but found no slot: the
    /// node's background loop then asks the endpoint's grain for a probe permit.</summary>
    public bool TakeProbeDemand(int index) => Interlocked.Exchange(ref ProbeDemand[index], 0) != 0;

    // Read before write: a half-open endpoint seen by every decision does not bounce its cache line on each one.
    internal void MarkProbeWanted(int index)
    {
        if (Volatile.Read(ref ProbeDemand[index]) == 0)
        {
            Volatile.Write(ref ProbeDemand[index], 1);
        }
    }

    /// <summary>The endpoint index of the class's first compiled primary (what the class would use when nothing is
    /// wrong); -1 when it has none. Allocation-free.</summary>
    public int FirstPrimaryOf(int classIndex)
    {
        var primaries = Classes[classIndex].Primaries;
        return primaries.Length > 0 ? primaries[0] : -1;
    }

    /// <summary>The compiled candidates of a class: primaries, then eligible fallbacks in order (indices).</summary>
    public (IReadOnlyList<int> Primaries, IReadOnlyList<int> Fallbacks) CandidatesOf(int classIndex) =>
        (Classes[classIndex].Primaries, Classes[classIndex].Fallbacks);

    internal bool TryTakeProbe(int index)
    {
        // Several request threads may decide at once; never hand out more probes than were granted.
        ref int slots = ref ProbeSlots[index];
        while (true)
        {
            int current = Volatile.Read(ref slots);
            if (current <= 0)
            {
                return false;
            }

            if (Interlocked.CompareExchange(ref slots, current - 1, current) == current)
            {
                return true;
            }
        }
    }
}

/// <summary>The routing-relevant facts of one endpoint, flattened for the hot path; immutable, replaced whole.</summary>
internal sealed class EndpointSlot
{
    public int ContextWindow { get; init; }
    public Capabilities Capabilities { get; init; }
    public BreakerState State { get; init; }
    public BreakerReason Reason { get; init; }
    public bool Degraded { get; init; }
    public double TrafficFraction { get; init; }
    public long RateLimitedUntilTicks { get; init; }
    public OverrideKind Override { get; init; }
    public long OverrideExpiresTicks { get; init; }

    public static EndpointSlot From(EndpointDescriptor endpoint, in EndpointHealthView health) => new()
    {
        ContextWindow = endpoint.ContextWindow,
        Capabilities = endpoint.Capabilities,
        State = health.State,
        Reason = health.Reason,
        Degraded = health.Degraded,
        TrafficFraction = double.IsNaN(health.TrafficFraction) ? 0 : Math.Clamp(health.TrafficFraction, 0, 1),
        RateLimitedUntilTicks = health.RateLimitedUntil?.UtcTicks ?? 0,
        Override = health.Override?.Kind ?? 0,
        OverrideExpiresTicks = health.Override is { } o ? o.ExpiresAt?.UtcTicks ?? long.MaxValue : 0,
    };

    /// <summary>The override in force at <paramref name="nowTicks"/>, or 0.</summary>
    public OverrideKind ActiveOverride(long nowTicks) => nowTicks < OverrideExpiresTicks ? Override : 0;
}

/// <summary>A class policy compiled to endpoint indices.</summary>
internal sealed class ClassRoute
{
    private ClassRoute(WorkloadClassPolicy policy, int[] primaries, int[] fallbacks)
    {
        Mode = policy.Mode;
        PanicThreshold = policy.PanicThreshold;
        Panic = policy.Panic;
        Primaries = primaries;
        Fallbacks = fallbacks;
    }

    public RoutingMode Mode { get; }
    public int PanicThreshold { get; }
    public PanicMode Panic { get; }
    public int[] Primaries { get; }
    public int[] Fallbacks { get; }

    public static ClassRoute Compile(WorkloadClassPolicy policy, EndpointDescriptor[] endpoints, Dictionary<string, int> index)
    {
        var prohibited = new HashSet<string>(policy.Prohibited, StringComparer.Ordinal);
        var primaries = new List<int>(policy.Primary.Count);
        foreach (string id in policy.Primary)
        {
            if (!prohibited.Contains(id) && index.TryGetValue(id, out int i) && policy.Admits(endpoints[i]))
            {
                primaries.Add(i);
            }
        }

        var fallbacks = new List<int>(policy.Fallbacks.Count);
        if (policy.Mode == RoutingMode.AutoFallback)
        {
            foreach (var fallback in policy.Fallbacks)
            {
                if (!prohibited.Contains(fallback.EndpointId) && policy.PassesQualityGate(fallback)
                    && index.TryGetValue(fallback.EndpointId, out int i) && policy.Admits(endpoints[i]))
                {
                    fallbacks.Add(i);
                }
            }
        }

        return new ClassRoute(policy, [.. primaries], [.. fallbacks]);
    }
}
