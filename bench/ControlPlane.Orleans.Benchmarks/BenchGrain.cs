using Orleans.Placement;
using Orleans.Runtime;

namespace ControlPlane.OrleansBenchmarks;

/// <summary>A trivial grain: the call cost is the runtime's alone.</summary>
[Alias("bench.IBenchGrain")]
public interface IBenchGrain : IGrainWithIntegerKey
{
    /// <summary>Returns its argument plus one.</summary>
    [Alias("ping")]
    Task<int> Ping(int value);

    /// <summary>The silo the activation lives on.</summary>
    [Alias("where")]
    Task<string> Where();
}

/// <summary>Activated on the silo whose caller first calls it (<see cref="PreferLocalPlacementAttribute"/>), so the
/// benchmark decides which calls are local and which remote.</summary>
[PreferLocalPlacement]
internal sealed class BenchGrain(ILocalSiloDetails silo) : Grain, IBenchGrain
{
    public Task<int> Ping(int value) => Task.FromResult(value + 1);

    public Task<string> Where() => Task.FromResult(silo.SiloAddress.ToString());
}
