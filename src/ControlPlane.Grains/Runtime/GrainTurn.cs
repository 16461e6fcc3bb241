using ControlPlane.Grains.Transport;

namespace ControlPlane.Grains.Runtime;

/// <summary>How a turn may overlap others on the same activation.</summary>
internal enum TurnKind
{
    /// <summary>Runs alone: no other exclusive or read-only turn overlaps it (the default).</summary>
    Exclusive,

    /// <summary>May overlap other read-only turns.</summary>
    ReadOnly,

    /// <summary>May overlap any turn.</summary>
    AlwaysInterleave,
}

/// <summary>The slot a started turn occupies; decides what it blocks.</summary>
internal enum TurnSlot
{
    Exclusive,
    ReadOnly,
    Interleaved,
}

/// <summary>One unit of work for an activation: a call, a timer tick, activation or deactivation.</summary>
internal abstract class GrainTurn(TurnKind kind, CallChain? chain)
{
    private static readonly AsyncLocal<GrainTurn?> s_current = new();
    private CallChain? _outgoing;

    /// <summary>The turn whose code is running in this async flow, or null outside grains.</summary>
    public static GrainTurn? Current
    {
        get => s_current.Value;
        set => s_current.Value = value;
    }

    public TurnKind Kind { get; } = kind;

    /// <summary>The chain of the call that started this turn, if it came from another grain.</summary>
    public CallChain? Chain { get; } = chain;

    public GrainActivation? Activation { get; set; }

    public TurnSlot Slot { get; set; }

    /// <summary>The chain this turn belongs to: the incoming one, or the one it started by calling out.</summary>
    public Guid? ChainId => Chain?.Id ?? Volatile.Read(ref _outgoing)?.Id;

    /// <summary>Whether the turn keeps its activation from being idle-collected.</summary>
    public virtual bool CountsAsActivity => true;

    /// <summary>True when nobody waits for the turn any more (its caller timed out): skipped if not yet started.</summary>
    public virtual bool IsAbandoned => false;

    /// <summary>The chain for calls this turn makes: created on the first outgoing call, then shared.</summary>
    public CallChain OutgoingChain(GrainId self)
    {
        // Turn code is serialized on the activation scheduler, so lazy creation needs no lock.
        return _outgoing ??= new CallChain(Chain?.Id ?? Guid.NewGuid(), Chain is null ? [self] : Chain.Path.Add(self));
    }

    /// <summary>Runs the turn on the activation's scheduler.</summary>
    public abstract Task RunAsync(GrainActivation activation);

    /// <summary>Reports the outcome to whoever waits for it; runs after the activation booked the turn as finished.</summary>
    public virtual void Settle()
    {
    }

    /// <summary>Fails the turn without running it.</summary>
    public abstract void Fail(Exception error);

    /// <summary>Sends the turn to wherever its grain lives now (after the activation it was queued on went away),
    /// or to <paramref name="owner"/> when a directory claim named the silo that owns the grain.</summary>
    public virtual void Reroute(GrainRuntime runtime, Placement.GrainLocation? owner) =>
        Fail(new GrainException("The activation went away before the turn ran."));
}
