using ControlPlane.Domain.Breakers;

namespace ControlPlane.Fleet;

/// <summary>An endpoint's recovery gate as the fleet file sets it (<c>recovery_gate:</c> on the endpoint over
/// <c>evals.recovery_gate</c>): after its breaker's cooldown the endpoint must pass its golden set on synthetic
/// outcomes before half-open traffic begins (<see cref="RecoveryGateOptions"/>).</summary>
/// <param name="MinProbes">Consecutive synthetic passes that open the gate, and the outcomes a pass rate needs.</param>
/// <param name="PassRate">Pass rate over at least <paramref name="MinProbes"/> synthetic outcomes that opens the gate.</param>
/// <param name="ReleaseWithoutProbesAfter">No synthetic outcome this long after the cooldown: the gate lets go (zero: never).</param>
public sealed record RecoveryGateSettings(int MinProbes, double PassRate, TimeSpan ReleaseWithoutProbesAfter)
{
    /// <summary>The defaults <c>recovery_gate: { golden_set: true }</c> gets: 5 probes, 80 %, released after 15 min without any.</summary>
    public static readonly RecoveryGateSettings Default = new(5, 0.8, TimeSpan.FromMinutes(15));

    /// <summary>The longest <see cref="ReleaseWithoutProbesAfter"/> a fleet file may set (a day).</summary>
    public static readonly TimeSpan MaxRelease = TimeSpan.FromDays(1);

    /// <summary>The breaker's options for this gate.</summary>
    public RecoveryGateOptions ToOptions() => new()
    {
        MinProbes = MinProbes,
        PassRate = PassRate,
        ReleaseWithoutProbesAfter = ReleaseWithoutProbesAfter,
    };
}
