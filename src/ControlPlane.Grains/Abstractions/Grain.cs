using ControlPlane.Grains.Runtime;

namespace ControlPlane.Grains;

/// <summary>The base class of grain implementations. The runtime runs one turn at a time per activation (unless methods
/// are marked <see cref="ReadOnlyAttribute"/> or <see cref="AlwaysInterleaveAttribute"/>), on the activation's own
/// scheduler: do not use <c>ConfigureAwait(false)</c> in grain code, or the rest of the method leaves the turn.</summary>
public abstract class Grain
{
    private GrainActivation? _activation;

    /// <summary>The grain's identity.</summary>
    public GrainId GrainId => Activation.GrainId;

    /// <summary>Hands out references to other grains (and observers).</summary>
    protected IGrainFactory GrainFactory => Activation.Runtime;

    /// <summary>The silo's clock; use it rather than the system clock so tests can drive time.</summary>
    protected TimeProvider TimeProvider => Activation.Runtime.TimeProvider;

    internal GrainActivation Activation =>
        _activation ?? throw new InvalidOperationException("The grain's runtime members are usable from OnActivateAsync on, not in its constructor.");

    /// <summary>The key the grain was addressed by.</summary>
    public string GetPrimaryKeyString() => GrainId.Key;

    /// <summary>Runs once per activation, after persisted state was read and before the first call.</summary>
    public virtual Task OnActivateAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Runs once when the activation goes away (idle, on request or at shutdown), after its queued turns.
    /// Write state here if it must outlive the activation. Not called if the process dies.</summary>
    public virtual Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Registers an in-memory timer whose callback runs as a turn of this grain (never overlapping other turns
    /// unless <paramref name="interleave"/>). Dispose the result to stop it; deactivation stops it too.</summary>
    /// <param name="callback">The tick; its token is cancelled when the timer is disposed.</param>
    /// <param name="dueTime">Time before the first tick.</param>
    /// <param name="period">Time between ticks; <see cref="Timeout.InfiniteTimeSpan"/> for one tick.</param>
    /// <param name="interleave">Let ticks interleave with other turns.</param>
    protected IDisposable RegisterTimer(Func<CancellationToken, Task> callback, TimeSpan dueTime, TimeSpan period, bool interleave = false)
    {
        ArgumentNullException.ThrowIfNull(callback);
        return Activation.RegisterTimer(callback, dueTime, period, interleave);
    }

    /// <summary>Deactivates this activation as soon as no turn is running or queued.</summary>
    protected void DeactivateOnIdle() => Activation.DeactivateOnIdle();

    internal void Attach(GrainActivation activation) => _activation = activation;

    internal virtual Task ReadStateOnActivateAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
