using ControlPlane.Drills.Targets;
using ControlPlane.Fleet;

namespace ControlPlane.Drills.Stack;

/// <summary>A control plane the drill runs against (embedded or a cluster), started by the executable.</summary>
public interface IDrillControlPlane : IAsyncDisposable
{
    /// <summary>The data-plane gRPC address (what a proxy's <c>--control-plane</c> names).</summary>
    Uri GrpcUri { get; }

    /// <summary>Every node's data-plane gRPC address, <see cref="GrpcUri"/> first: a target spreads its replicas over
    /// them (replica i on node i mod count).</summary>
    IReadOnlyList<Uri> GrpcUris => [GrpcUri];

    /// <summary>The admin API's base address.</summary>
    Uri AdminUri { get; }

    /// <summary>A key holding every role (admin views for the drill, data-plane for the proxy).</summary>
    string ApiKey { get; }

    /// <summary>What it is, for the report (<c>embedded</c>, <c>3-node cluster</c>).</summary>
    string Description { get; }
}

/// <summary>What the executable needs to start a control plane for a drill.</summary>
/// <param name="FleetPath">The fleet file.</param>
/// <param name="Fleet">The loaded fleet.</param>
/// <param name="Tuning">Breaker timing for the drill.</param>
/// <param name="Nodes">1 (embedded) or more (a cluster on a real redis-server).</param>
/// <param name="WorkDirectory">A scratch folder the drill owns.</param>
public sealed record ControlPlaneLaunch(string FleetPath, FleetDefinition Fleet, DrillTuning Tuning, int Nodes, string WorkDirectory);

/// <summary>The provider simulator of a drill.</summary>
public interface IDrillSimulator : IAsyncDisposable
{
    /// <summary>Its admin API (<c>/sim/v1/...</c>).</summary>
    Uri AdminUri { get; }

    /// <summary>The upstreams file it wrote (endpoint id → URL), read by proxies.</summary>
    string UpstreamsPath { get; }
}

/// <summary>The system under drill, started (its replicas) in front of the simulator.</summary>
public interface IDrillTargetHost : IAsyncDisposable
{
    /// <summary>One target per replica; the driver spreads requests over them round-robin.</summary>
    IReadOnlyList<IDrillTarget> Replicas { get; }
}

/// <summary>Everything a target needs to start.</summary>
/// <param name="ControlPlane">The control plane.</param>
/// <param name="Simulator">The simulator.</param>
/// <param name="Fleet">The fleet.</param>
/// <param name="Replicas">How many replicas to start.</param>
/// <param name="WorkDirectory">A scratch folder the drill owns.</param>
public sealed record DrillTargetContext(IDrillControlPlane ControlPlane, IDrillSimulator Simulator, FleetDefinition Fleet, int Replicas, string WorkDirectory);

/// <summary>Starts a target (<c>--target NAME</c>).</summary>
public interface IDrillTargetFactory
{
    /// <summary>The name <c>--target</c> selects it by.</summary>
    string Name { get; }

    /// <summary>Starts <see cref="DrillTargetContext.Replicas"/> replicas.</summary>
    Task<IDrillTargetHost> StartAsync(DrillTargetContext context, CancellationToken cancellationToken);
}

/// <summary>How a drill gets its moving parts: the control plane (from the executable, which owns the node host),
/// the simulator, and the targets by name.</summary>
/// <param name="StartControlPlane">Starts the control plane.</param>
/// <param name="StartSimulator">Starts the simulator (fleet file, scenario file, seed, work folder) with its clock held:
/// the drill posts the (possibly scaled) faults itself when its clock starts.</param>
/// <param name="Targets">The targets <c>--target</c> can name.</param>
public sealed record DrillComponents(
    Func<ControlPlaneLaunch, CancellationToken, Task<IDrillControlPlane>> StartControlPlane,
    Func<string, string, int, string, CancellationToken, Task<IDrillSimulator>> StartSimulator,
    IReadOnlyList<IDrillTargetFactory> Targets);
