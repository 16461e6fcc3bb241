using ControlPlane.Grains.Diagnostics;
using ControlPlane.Grains.Placement;

namespace ControlPlane.Grains.Runtime;

/// <summary>The lifecycle of an activation.</summary>
internal enum ActivationStatus
{
    Activating,
    Valid,
    Deactivating,
    Deactivated,
}

/// <summary>One live instance of a grain (or an observer target) with its mailbox. The gate below decides which turns
/// may run; the activation's task scheduler makes sure the code of running turns never runs in parallel.</summary>
internal sealed class GrainActivation
{
    private static readonly Func<object?, Task> s_runTurn = static state =>
    {
        var turn = (GrainTurn)state!;
        return turn.Activation!.RunTurnAsync(turn);
    };

    private readonly object _gate = new();
    private readonly Queue<GrainTurn> _inbox = new();
    private readonly List<GrainTurn> _running = new(2);
    private readonly TaskCompletionSource _deactivated = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<GrainTimer> _timers = [];
    private readonly ActivationTaskScheduler _scheduler = new();
    private GrainTurn? _exclusive;
    private int _readOnly;
    private ActivationStatus _status;
    private long _lastActivity;
    private bool _deactivateWhenIdle;
    private DeactivationReason? _deactivateAfterActivation;

    private GrainActivation(GrainRuntime runtime, GrainId grainId, GrainClassInfo? grainClass, object? instance)
    {
        Runtime = runtime;
        GrainId = grainId;
        GrainClass = grainClass;
        Instance = instance;
        _lastActivity = runtime.TimeProvider.GetTimestamp();
    }

    public GrainRuntime Runtime { get; }

    public GrainId GrainId { get; }

    /// <summary>The grain class; null for observer targets.</summary>
    public GrainClassInfo? GrainClass { get; }

    /// <summary>The grain instance (set by activation) or the observer object.</summary>
    public object? Instance { get; set; }

    /// <summary>The directory claim; its epoch fences state writes.</summary>
    public GrainClaim? Claim { get; set; }

    /// <summary>Completes when the activation has deactivated (or failed to activate) and left the catalog.</summary>
    public Task Deactivated => _deactivated.Task;

    public ActivationStatus Status
    {
        get
        {
            lock (_gate)
            {
                return _status;
            }
        }
    }

    public static GrainActivation ForGrain(GrainRuntime runtime, GrainId grainId, GrainClassInfo grainClass) =>
        new(runtime, grainId, grainClass, instance: null) { _status = ActivationStatus.Activating };

    public static GrainActivation ForObserver(GrainRuntime runtime, GrainId observerId, object observer) =>
        new(runtime, observerId, grainClass: null, observer) { _status = ActivationStatus.Valid };

    /// <summary>Starts the activation turn (claim, construct, read state, OnActivateAsync); calls queue behind it.</summary>
    public void Start()
    {
        lock (_gate)
        {
            StartLocked(new ActivationTurn(), TurnSlot.Exclusive);
        }
    }

    /// <summary>Queues or starts a turn; false when the activation no longer takes turns (the caller reroutes).</summary>
    public bool TryEnqueue(GrainTurn turn)
    {
        lock (_gate)
        {
            if (_status == ActivationStatus.Deactivated)
            {
                return false;
            }

            var reentrant = IsReentrantLocked(turn);
            if (_status == ActivationStatus.Deactivating && !reentrant)
            {
                return false;
            }

            if (turn.CountsAsActivity)
            {
                _lastActivity = Runtime.TimeProvider.GetTimestamp();
            }

            if (reentrant || (turn.Kind == TurnKind.AlwaysInterleave && _status == ActivationStatus.Valid))
            {
                StartLocked(turn, TurnSlot.Interleaved);
            }
            else if (_inbox.Count == 0 && CanStartLocked(turn))
            {
                StartLocked(turn, SlotOf(turn));
            }
            else
            {
                _inbox.Enqueue(turn);
            }

            return true;
        }
    }

    /// <summary>Deactivates after the queued turns have run; returns when done.</summary>
    public Task DeactivateAsync(DeactivationReason reason)
    {
        lock (_gate)
        {
            if (_status == ActivationStatus.Valid)
            {
                BeginDeactivationLocked(reason);
            }
            else if (_status == ActivationStatus.Activating)
            {
                _deactivateAfterActivation = reason;
            }
        }

        return _deactivated.Task;
    }

    /// <summary>Deactivates as soon as the running turns end, ahead of the queued ones (which move to the grain's next
    /// activation): for an activation whose claim is void.</summary>
    public void DeactivateNow(DeactivationReason reason)
    {
        lock (_gate)
        {
            if (_status == ActivationStatus.Activating)
            {
                _deactivateAfterActivation = reason;
                return;
            }

            if (_status != ActivationStatus.Valid)
            {
                return;
            }

            _status = ActivationStatus.Deactivating;
            var queued = _inbox.ToArray();
            _inbox.Clear();
            _inbox.Enqueue(new DeactivationTurn(reason));
            foreach (var turn in queued)
            {
                _inbox.Enqueue(turn);
            }

            PumpLocked();
        }
    }

    /// <summary>Asks for deactivation as soon as no turn runs or waits (called from grain code).</summary>
    public void DeactivateOnIdle()
    {
        lock (_gate)
        {
            _deactivateWhenIdle = true;
        }
    }

    /// <summary>Starts deactivation when nothing ran for <paramref name="idleAge"/>; true if it did.</summary>
    public bool TryCollectIfIdle(TimeSpan idleAge)
    {
        lock (_gate)
        {
            if (_status != ActivationStatus.Valid || GrainClass is null || _running.Count > 0 || _inbox.Count > 0
                || Runtime.TimeProvider.GetElapsedTime(_lastActivity) < idleAge)
            {
                return false;
            }

            BeginDeactivationLocked(DeactivationReason.IdleTimeout);
            return true;
        }
    }

    public GrainTimer RegisterTimer(Func<CancellationToken, Task> callback, TimeSpan dueTime, TimeSpan period, bool interleave)
    {
        var timer = new GrainTimer(this, callback, interleave);
        lock (_timers)
        {
            _timers.Add(timer);
        }

        timer.Start(dueTime, period);
        return timer;
    }

    public void RemoveTimer(GrainTimer timer)
    {
        lock (_timers)
        {
            _timers.Remove(timer);
        }
    }

    private void DisposeTimers()
    {
        GrainTimer[] timers;
        lock (_timers)
        {
            timers = [.. _timers];
        }

        foreach (var timer in timers)
        {
            timer.Dispose();
        }
    }

    // A call may enter a busy activation when the activation is upstream in the call's chain and one of its running
    // turns belongs to that chain: it is waiting on this very call (A->B->A), so queuing would deadlock.
    private bool IsReentrantLocked(GrainTurn turn)
    {
        if (turn.Chain is not { } chain || !chain.Passes(GrainId))
        {
            return false;
        }

        foreach (var running in _running)
        {
            if (running.ChainId == chain.Id)
            {
                return true;
            }
        }

        return false;
    }

    private bool CanStartLocked(GrainTurn turn)
    {
        if (_status == ActivationStatus.Activating)
        {
            return false;
        }

        return turn switch
        {
            DeactivationTurn => _running.Count == 0,
            _ => turn.Kind switch
            {
                TurnKind.AlwaysInterleave => true,
                TurnKind.ReadOnly => _exclusive is null,
                _ => _exclusive is null && _readOnly == 0,
            },
        };
    }

    private static TurnSlot SlotOf(GrainTurn turn) => turn.Kind switch
    {
        TurnKind.ReadOnly => TurnSlot.ReadOnly,
        TurnKind.AlwaysInterleave => TurnSlot.Interleaved,
        _ => TurnSlot.Exclusive,
    };

    private void StartLocked(GrainTurn turn, TurnSlot slot)
    {
        turn.Activation = this;
        turn.Slot = slot;
        _running.Add(turn);
        if (slot == TurnSlot.Exclusive)
        {
            _exclusive = turn;
        }
        else if (slot == TurnSlot.ReadOnly)
        {
            _readOnly++;
        }

        _ = Task.Factory.StartNew(s_runTurn, turn, CancellationToken.None, TaskCreationOptions.DenyChildAttach, _scheduler);
    }

    private void PumpLocked()
    {
        while (_inbox.TryPeek(out var next))
        {
            if (next.IsAbandoned)
            {
                _inbox.Dequeue();
                continue;
            }

            if (!CanStartLocked(next))
            {
                return;
            }

            _inbox.Dequeue();
            StartLocked(next, SlotOf(next));
        }
    }

    private void BeginDeactivationLocked(DeactivationReason reason)
    {
        _status = ActivationStatus.Deactivating;
        var turn = new DeactivationTurn(reason);
        if (_inbox.Count == 0 && _running.Count == 0)
        {
            StartLocked(turn, TurnSlot.Exclusive);
        }
        else
        {
            _inbox.Enqueue(turn);
        }
    }

    private async Task RunTurnAsync(GrainTurn turn)
    {
        GrainTurn.Current = turn;
        try
        {
            await turn.RunAsync(this);
        }
#pragma warning disable CA1031 // Turns report their own errors; this is the last line against a broken mailbox.
        catch (Exception error)
#pragma warning restore CA1031
        {
            Runtime.Log.TurnFailed(GrainId, error);
        }
        finally
        {
            GrainTurn.Current = null;
            OnTurnCompleted(turn);
            turn.Settle();
        }
    }

    private void OnTurnCompleted(GrainTurn turn)
    {
        GrainTurn[] leftovers = [];
        Exception? failure = null;
        GrainLocation? owner = null;
        var finished = false;
        lock (_gate)
        {
            _running.Remove(turn);
            if (ReferenceEquals(_exclusive, turn))
            {
                _exclusive = null;
            }
            else if (turn.Slot == TurnSlot.ReadOnly)
            {
                _readOnly--;
            }

            if (turn.CountsAsActivity)
            {
                _lastActivity = Runtime.TimeProvider.GetTimestamp();
            }

            if (turn is ActivationTurn activation)
            {
                if (activation.Error is not null || activation.ForwardedTo is not null)
                {
                    // Failed or owned elsewhere: nothing may run here; queued calls fail or move.
                    _status = ActivationStatus.Deactivated;
                    failure = activation.Error;
                    owner = activation.ForwardedTo;
                    leftovers = [.. _inbox];
                    _inbox.Clear();
                    finished = true;
                }
                else
                {
                    _status = ActivationStatus.Valid;
                    if (_deactivateAfterActivation is { } reason)
                    {
                        BeginDeactivationLocked(reason);
                    }
                }
            }
            else if (turn is DeactivationTurn)
            {
                _status = ActivationStatus.Deactivated;
                leftovers = [.. _inbox];
                _inbox.Clear();
                finished = true;
            }

            if (_deactivateWhenIdle && _status == ActivationStatus.Valid && _running.Count == 0 && _inbox.Count == 0)
            {
                BeginDeactivationLocked(DeactivationReason.ApplicationRequested);
            }

            if (!finished)
            {
                PumpLocked();
            }
        }

        if (finished)
        {
            Finish(leftovers, failure, owner);
        }
    }

    private void Finish(GrainTurn[] leftovers, Exception? failure, GrainLocation? owner)
    {
        Runtime.Catalog.Remove(this);
        foreach (var turn in leftovers)
        {
            if (failure is not null)
            {
                turn.Fail(failure);
            }
            else
            {
                turn.Reroute(Runtime, owner);
            }
        }

        _deactivated.TrySetResult();
    }

    /// <summary>Claims the grain, constructs it, reads its state and runs OnActivateAsync.</summary>
    private sealed class ActivationTurn() : GrainTurn(TurnKind.Exclusive, chain: null)
    {
        public Exception? Error { get; private set; }

        public GrainLocation? ForwardedTo { get; private set; }

        public override async Task RunAsync(GrainActivation activation)
        {
            var runtime = activation.Runtime;
            GrainClaim? claim = null;
            try
            {
                claim = await runtime.Directory.ClaimAsync(activation.GrainId);
                if (!claim.Granted)
                {
                    ForwardedTo = claim.Owner ?? throw new GrainException($"Grain {activation.GrainId} is owned elsewhere and the directory named no owner.");
                    return;
                }

                activation.Claim = claim;
                var grain = activation.GrainClass!.Create(runtime.Services);
                grain.Attach(activation);
                activation.Instance = grain;
                using var timeout = new CancellationTokenSource(runtime.Options.ActivationTimeout, runtime.TimeProvider);
                await grain.ReadStateOnActivateAsync(timeout.Token);
                await grain.OnActivateAsync(timeout.Token);
                runtime.Log.Activated(activation.GrainId);
                runtime.Metrics.Activated();
            }
#pragma warning disable CA1031 // Activation errors go to every queued caller.
            catch (Exception error)
#pragma warning restore CA1031
            {
                Error = error is GrainException ? error : new GrainActivationException(activation.GrainId, error);
                runtime.Log.ActivationFailed(activation.GrainId, error);
                runtime.Metrics.ActivationFailed();
                activation.DisposeTimers();
                if (claim is { Granted: true })
                {
                    await activation.ReleaseClaimAsync(claim);
                }
            }
        }

        public override void Fail(Exception error)
        {
        }
    }

    /// <summary>Stops timers, runs OnDeactivateAsync and releases the claim.</summary>
    private sealed class DeactivationTurn(DeactivationReason reason) : GrainTurn(TurnKind.Exclusive, chain: null)
    {
        public override bool CountsAsActivity => false;

        public override async Task RunAsync(GrainActivation activation)
        {
            var runtime = activation.Runtime;
            activation.DisposeTimers();
            if (activation.Instance is Grain grain)
            {
                try
                {
                    using var timeout = new CancellationTokenSource(runtime.Options.DeactivationTimeout, runtime.TimeProvider);
                    await grain.OnDeactivateAsync(reason, timeout.Token);
                }
#pragma warning disable CA1031 // A failing OnDeactivateAsync must not keep the activation alive.
                catch (Exception error)
#pragma warning restore CA1031
                {
                    runtime.Log.DeactivationFailed(activation.GrainId, error);
                }
            }

            if (activation.Claim is { } claim)
            {
                await activation.ReleaseClaimAsync(claim);
            }

            runtime.Log.Deactivated(activation.GrainId, reason);
            runtime.Metrics.Deactivated(reason);
        }

        public override void Fail(Exception error)
        {
        }
    }

    private async Task ReleaseClaimAsync(GrainClaim claim)
    {
        try
        {
            await Runtime.Directory.ReleaseAsync(GrainId, claim);
        }
#pragma warning disable CA1031 // An unreleased claim expires on its own; deactivation goes on.
        catch (Exception error)
#pragma warning restore CA1031
        {
            Runtime.Log.ClaimReleaseFailed(GrainId, error);
        }
    }
}
