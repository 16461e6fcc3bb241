namespace ControlPlane.Redis.Connection;

/// <summary>One command on its way through the multiplexer: queued, then sent, then done.
/// Exactly one of reply, timeout, cancellation or connection loss completes it; the state
/// machine also tells a failure whether the command reached the wire (it may have executed).</summary>
internal sealed class PendingCommand
{
    private const int Queued = 0;
    private const int Sent = 1;
    private const int Done = 2;

    private readonly TaskCompletionSource<RespValue> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TimeSpan _timeout;
    private int _state;
    private ITimer? _timer;
    private CancellationTokenRegistration _cancellation;

    public PendingCommand(string command, RedisArgument[] arguments, TimeSpan timeout)
    {
        Command = command;
        Arguments = arguments;
        _timeout = timeout;
    }

    public string Command { get; }

    public RedisArgument[] Arguments { get; }

    public Task<RespValue> Task => _completion.Task;

    /// <summary>Starts the timeout clock (which also covers time queued while reconnecting) and links cancellation.</summary>
    public void Arm(TimeProvider time, CancellationToken cancellationToken)
    {
        _timer = time.CreateTimer(static s => ((PendingCommand)s!).OnTimeout(), this, _timeout, Timeout.InfiniteTimeSpan);
        if (cancellationToken.CanBeCanceled)
        {
            _cancellation = cancellationToken.UnsafeRegister(static (s, token) => ((PendingCommand)s!).OnCanceled(token), this);
        }
    }

    /// <summary>Claims the command for writing; false when it already timed out or was cancelled, so it is skipped.</summary>
    public bool TryMarkSent() => Interlocked.CompareExchange(ref _state, Sent, Queued) == Queued;

    /// <summary>Delivers the reply; a late reply to a command that already timed out is dropped.</summary>
    public void SetReply(RespValue reply)
    {
        if (Interlocked.CompareExchange(ref _state, Done, Sent) != Sent)
        {
            return;
        }

        Disarm();
        if (reply.IsError)
        {
            _completion.TrySetException(new RedisServerException(reply.AsString() ?? string.Empty));
        }
        else
        {
            _completion.TrySetResult(reply);
        }
    }

    /// <summary>Fails the command with an error built from whether it had been sent.</summary>
    public void Fail<TState>(Func<bool, TState, Exception> error, TState state)
    {
        var prior = Interlocked.Exchange(ref _state, Done);
        if (prior == Done)
        {
            return;
        }

        Disarm();
        _completion.TrySetException(error(prior == Sent, state));
    }

    private void OnTimeout() => Fail(
        static (sent, self) => new RedisTimeoutException(
            sent
                ? $"Redis command {self.Command} got no reply within {self._timeout.TotalMilliseconds} ms; it was sent and may still execute."
                : $"Redis command {self.Command} was not sent within {self._timeout.TotalMilliseconds} ms (not connected); it will not execute.",
            sent),
        this);

    private void OnCanceled(CancellationToken token)
    {
        if (Interlocked.Exchange(ref _state, Done) != Done)
        {
            Disarm();
            _completion.TrySetCanceled(token);
        }
    }

    private void Disarm()
    {
        _timer?.Dispose();
        _cancellation.Dispose();
    }
}
