namespace ControlPlane.Drills.Stack;

/// <summary>The drill's default moving parts: the control plane the executable starts, the provider simulator and
/// our proxy as the target.</summary>
public static class DrillStack
{
    /// <summary>The components with <paramref name="startControlPlane"/> as the control plane.</summary>
    public static DrillComponents Create(Func<ControlPlaneLaunch, CancellationToken, Task<IDrillControlPlane>> startControlPlane) =>
        new(startControlPlane, SimulatorComponent.StartAsync, [new ProxyComponent.Factory()]);
}
