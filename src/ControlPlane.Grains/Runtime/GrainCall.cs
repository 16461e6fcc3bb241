using ControlPlane.Grains.Diagnostics;
using ControlPlane.Grains.Placement;
using ControlPlane.Grains.Proxies;
using ControlPlane.Grains.Transport;

namespace ControlPlane.Grains.Runtime;

/// <summary>A call to a grain or observer method, with its caller's completion and its timeout.</summary>
internal sealed class GrainCall<TResult>(GrainId target, GrainMethod<TResult> method, object?[] arguments, CallChain? chain)
    : GrainTurn(method.TurnKind, chain), ITimeoutTarget
{
    internal const int MaxReroutes = 8;

    // Continuations run asynchronously so a caller never resumes on the callee activation's scheduler thread.
    private readonly TaskCompletionSource<TResult> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private CallTimeoutWheel.Registration _timeoutSlot;
    private TimeSpan _timeout;
    private TResult? _result;
    private Exception? _error;
    private Outcome _outcome;
    private int _reroutes;
    private GrainMetrics? _metrics;

    private enum Outcome
    {
        NotRun,
        Returned,
        Threw,
    }

    public GrainId Target { get; } = target;

    /// <summary>Set for calls that arrived from another silo: they are rejected, not forwarded, when the grain lives elsewhere.</summary>
    public bool RejectIfElsewhere { get; init; }

    public Task<TResult> Task => _completion.Task;

    public override bool IsAbandoned => _completion.Task.IsCompleted;

    public void StartTimeout(CallTimeoutWheel? wheel, TimeSpan timeout, GrainMetrics metrics)
    {
        if (wheel is null)
        {
            return;
        }

        _timeout = timeout;
        _metrics = metrics;
        _timeoutSlot = wheel.Register(this);
    }

    public void OnTimeout()
    {
        if (_completion.TrySetException(new GrainCallTimeoutException(Target, method.Name, _timeout)))
        {
            _metrics?.CallTimedOut();
            _timeoutSlot.Clear();
        }
    }

    public override async Task RunAsync(GrainActivation activation)
    {
        if (_completion.Task.IsCompleted)
        {
            return;
        }

        try
        {
            _result = await method.Invoke(activation.Instance!, arguments);
            _outcome = Outcome.Returned;
        }
#pragma warning disable CA1031 // The grain's exception belongs to the caller.
        catch (Exception error)
#pragma warning restore CA1031
        {
            _error = error;
            _outcome = Outcome.Threw;
        }
    }

    // Called once the activation has booked the turn as finished, so a caller that resumes sees the grain idle.
    public override void Settle()
    {
        if (_outcome == Outcome.Returned)
        {
            if (_completion.TrySetResult(_result!))
            {
                _timeoutSlot.Clear();
            }
        }
        else if (_outcome == Outcome.Threw)
        {
            Fail(_error!);
        }
    }

    public override void Fail(Exception error)
    {
        if (_completion.TrySetException(error))
        {
            _timeoutSlot.Clear();
        }
    }

    public override void Reroute(GrainRuntime runtime, GrainLocation? owner)
    {
        // Placement that keeps disagreeing with claims would bounce a call forever; give up with a clear error.
        if (++_reroutes > MaxReroutes)
        {
            Fail(new GrainException($"Call to grain {Target} was rerouted {MaxReroutes} times: placement and claims disagree."));
        }
        else if (owner is null)
        {
            runtime.Route(this, Target);
        }
        else
        {
            runtime.RouteTo(this, Target, owner);
        }
    }

    /// <summary>Sends the call to another silo through the transport and completes it with the reply.</summary>
    public async Task SendRemoteAsync(IGrainCallTransport transport, GrainLocation destination)
    {
        try
        {
            var reply = await transport.SendAsync(destination, new GrainCallMessage(Target, method, arguments, Chain), CancellationToken.None);
            if (_completion.TrySetResult(reply is null ? default! : (TResult)reply))
            {
                _timeoutSlot.Clear();
            }
        }
#pragma warning disable CA1031 // Transport failures belong to the caller.
        catch (Exception error)
#pragma warning restore CA1031
        {
            Fail(error);
        }
    }
}
