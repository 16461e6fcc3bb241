using ControlPlane.Drills.Stack;

namespace ControlPlane.Server.Drills;

/// <summary>The control plane <c>--cluster N</c> selects: one embedded node (1) or a cluster on a local redis-server (3).</summary>
internal static class DrillControlPlanes
{
    /// <summary>Starts the control plane for <paramref name="launch"/>.</summary>
    public static Task<IDrillControlPlane> StartAsync(ControlPlaneLaunch launch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(launch);
        return launch.Nodes == 1
            ? EmbeddedDrillControlPlane.StartAsync(launch, cancellationToken)
            : ClusterDrillControlPlane.StartAsync(launch, cancellationToken);
    }
}
