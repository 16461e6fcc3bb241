namespace ControlPlane.Grains.Placement;

/// <summary>Where activations live, and who may own one. The single-node directory answers "here" for everything;
/// the cluster directory places grains by rendezvous hashing over live members and enforces one activation
/// cluster-wide with a claim that carries a fencing epoch.</summary>
public interface IGrainDirectory
{
    /// <summary>The silo that hosts (or should host) the grain's activation. Called on every grain call: answer
    /// synchronously from a cache whenever possible.</summary>
    ValueTask<GrainLocation> LocateAsync(GrainId grainId, CancellationToken cancellationToken = default);

    /// <summary>Claims the grain for an activation on this silo, before its state is read. A granted claim carries
    /// the fencing epoch every state write of that activation must present.</summary>
    ValueTask<GrainClaim> ClaimAsync(GrainId grainId, CancellationToken cancellationToken = default);

    /// <summary>Releases a claim after the activation has deactivated (its last write is done).</summary>
    ValueTask ReleaseAsync(GrainId grainId, GrainClaim claim, CancellationToken cancellationToken = default);
}

/// <summary>A silo that hosts activations.</summary>
/// <param name="SiloId">The silo's id, unique among live members.</param>
/// <param name="IsLocal">True when the silo is this process.</param>
public sealed record GrainLocation(string SiloId, bool IsLocal);

/// <summary>The outcome of <see cref="IGrainDirectory.ClaimAsync"/>.</summary>
/// <param name="Granted">True when this silo now owns the grain.</param>
/// <param name="Epoch">The fencing epoch of the claim; newer claims have larger epochs.</param>
/// <param name="Owner">When not granted: the silo that owns the grain, calls are forwarded there.</param>
public sealed record GrainClaim(bool Granted, long Epoch, GrainLocation? Owner = null);

/// <summary>Single-node placement: every grain lives here, claims always succeed at epoch 0 (nothing else can
/// write this node's storage, so there is nobody to fence).</summary>
internal sealed class LocalGrainDirectory(GrainRuntimeOptions options) : IGrainDirectory
{
    private static readonly GrainClaim s_claim = new(Granted: true, Epoch: 0);
    private readonly GrainLocation _local = new(options.SiloId, IsLocal: true);

    public ValueTask<GrainLocation> LocateAsync(GrainId grainId, CancellationToken cancellationToken = default) => ValueTask.FromResult(_local);

    public ValueTask<GrainClaim> ClaimAsync(GrainId grainId, CancellationToken cancellationToken = default) => ValueTask.FromResult(s_claim);

    public ValueTask ReleaseAsync(GrainId grainId, GrainClaim claim, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;
}
