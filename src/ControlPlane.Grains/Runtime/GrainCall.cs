using ControlPlane.Grains.Placement;
using ControlPlane.Grains.Proxies;
using ControlPlane.Grains.Transport;

namespace ControlPlane.Grains.Runtime;

/// <summary>A call to a grain or observer method, with its caller's completion and its timeout.</summary>
internal sealed class GrainCall<TResult>(GrainId target, GrainMethod<TResult> method, object?[] arguments, CallChain? chain)
    : GrainTurn(method.TurnKind, chain)
{
    private static readonly TimerCallback s_onTimeout = static state => ((GrainCall<TResult>)state!).OnTimeout();

    // Continuations run asynchronously so a caller never resumes on the callee activation's scheduler thread.
    private readonly TaskCompletionSource<TResult> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private ITimer? _timeoutTimer;
    private TimeSpan _timeout;
    private TResult? _result;
    private Exception? _error;
    private Outcome _outcome;

    private enum Outcome
    {
        NotRun,
        Returned,
        Threw,
    }

    public GrainId Target { get; } = target;

    public Task<TResult> Task => _completion.Task;

    public override bool IsAbandoned => _completion.Task.IsCompleted;

    public void StartTimeout(TimeProvider timeProvider, TimeSpan timeout)
    {
        if (timeout == System.Threading.Timeout.InfiniteTimeSpan)
        {
            return;
        }

        _timeout = timeout;
        var timer = timeProvider.CreateTimer(s_onTimeout, this, timeout, System.Threading.Timeout.InfiniteTimeSpan);
        Volatile.Write(ref _timeoutTimer, timer);
        if (_completion.Task.IsCompleted)
        {
            timer.Dispose();
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
                Volatile.Read(ref _timeoutTimer)?.Dispose();
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
            Volatile.Read(ref _timeoutTimer)?.Dispose();
        }
    }

    public override void Reroute(GrainRuntime runtime) => runtime.Route(this, Target);

    /// <summary>Sends the call to another silo through the transport and completes it with the reply.</summary>
    public async Task SendRemoteAsync(IGrainCallTransport transport, GrainLocation destination)
    {
        try
        {
            var reply = await transport.SendAsync(destination, new GrainCallMessage(Target, method, arguments, Chain), CancellationToken.None);
            if (_completion.TrySetResult(reply is null ? default! : (TResult)reply))
            {
                Volatile.Read(ref _timeoutTimer)?.Dispose();
            }
        }
#pragma warning disable CA1031 // Transport failures belong to the caller.
        catch (Exception error)
#pragma warning restore CA1031
        {
            Fail(error);
        }
    }

    private void OnTimeout() => _completion.TrySetException(new GrainCallTimeoutException(Target, method.Name, _timeout));
}
