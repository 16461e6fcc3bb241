using ControlPlane.Domain.Routing;
using Wire = ControlPlane.Contracts.V1;

namespace ControlPlane.Service.DataPlane;

/// <summary>
/// The Route calls a node holds for <c>queue_only</c> classes whose primary is unavailable: one FIFO line per class,
/// bounded in depth, each call held until the primary can take it, its wait runs out or its caller cancels. Waiting
/// costs no thread (a call is a <see cref="TaskCompletionSource{TResult}"/>, a timer and a cancellation registration).
/// Lines are re-checked head first on <see cref="Signal"/> (a pushed table change, an installed lease) and on a short
/// timer as a safety net; a call never overtakes an older one of its class, and a call that cannot be answered
/// before its deadline is never given an endpoint (so it spends no quota).
/// </summary>
internal sealed class RouteHoldQueue : IDisposable
{
    private static readonly string QueueOnlyHold = RouteReason.QueueOnlyHold.ToWireName();

    private readonly Line[] _lines;
    private readonly TimeProvider _time;
    private readonly TimeSpan _replyMargin;
    private readonly Func<HeldRoute, Wire.RouteDecision> _reroute;
    private readonly Func<int, long> _retryAfterMs;
    private readonly RouteQueueMetrics _metrics;
    private readonly ITimer _recheck;
    private int _held;
    private int _drainScheduled;
    private volatile bool _closed;

    /// <param name="classCount">Classes, indexed like the node's snapshot.</param>
    /// <param name="options">Re-check period and reply margin.</param>
    /// <param name="time">Clock of the waits and of the re-check timer.</param>
    /// <param name="reroute">Routes a held call again (with the deadline it has left); answers
    /// <c>queue_only_hold</c> while the primary still cannot take it.</param>
    /// <param name="retryAfterMs">The <c>retry_after_ms</c> of a class's hold answer.</param>
    /// <param name="metrics">Depth and wait instruments.</param>
    public RouteHoldQueue(int classCount, RouteQueueOptions options, TimeProvider time, Func<HeldRoute, Wire.RouteDecision> reroute,
        Func<int, long> retryAfterMs, RouteQueueMetrics metrics)
    {
        _lines = new Line[classCount];
        for (var c = 0; c < classCount; c++)
        {
            _lines[c] = new Line();
        }

        _time = time;
        _replyMargin = options.ReplyMargin;
        _reroute = reroute;
        _retryAfterMs = retryAfterMs;
        _metrics = metrics;
        _recheck = time.CreateTimer(static state => ((RouteHoldQueue)state!).Signal(), this, options.RecheckInterval, options.RecheckInterval);
    }

    /// <summary>True when no call is held anywhere (one volatile read: the Route fast path asks this).</summary>
    public bool IsEmpty => Volatile.Read(ref _held) == 0;

    /// <summary>The answer a held call gets when it is not given an endpoint must reach the caller this long before
    /// its deadline.</summary>
    public TimeSpan ReplyMargin => _replyMargin;

    /// <summary>Calls of class <paramref name="classIndex"/> held now.</summary>
    public int Depth(int classIndex) => Volatile.Read(ref _lines[classIndex].Depth);

    /// <summary>Holds a call at the back of its class's line for at most <paramref name="wait"/>. Null when it cannot
    /// be held (the line is full, the node is stopping, nothing to wait for): answer <see cref="HoldAnswer"/> at once.</summary>
    public Task<Wire.RouteDecision>? TryHold(int classIndex, int maxDepth, TimeSpan wait, Wire.RouteRequest request, DateTimeOffset? deadlineAt,
        Wire.RouteDecision holdReply, CancellationToken cancellationToken)
    {
        if (wait <= TimeSpan.Zero || cancellationToken.IsCancellationRequested)
        {
            return null;
        }

        var line = _lines[classIndex];
        var now = _time.GetUtcNow();
        var held = new HeldRoute(this, classIndex, request, deadlineAt, now + wait, holdReply, cancellationToken, _time.GetTimestamp());
        lock (line.Gate)
        {
            if (_closed || line.Waiting.Count >= maxDepth)
            {
                _metrics.Waited(classIndex, TimeSpan.Zero, RouteQueueMetrics.Full);
                return null;
            }

            held.Node = line.Waiting.AddLast(held);
            Volatile.Write(ref line.Depth, line.Waiting.Count);
            Interlocked.Increment(ref _held);
            held.Timer = _time.CreateTimer(static state => ((HeldRoute)state!).Queue.Expire((HeldRoute)state!), held, wait, Timeout.InfiniteTimeSpan);
        }

        // Registered outside the line's lock (a token cancelled meanwhile runs the callback here, and it takes that
        // lock), kept under it, so Finish reads it whole; a call already answered drops it here.
        var registration = cancellationToken.UnsafeRegister(static state => ((HeldRoute)state!).Queue.Cancel((HeldRoute)state!), held);
        lock (line.Gate)
        {
            if (held.Node?.List is not null)
            {
                held.Registration = registration;
                registration = default;
            }
        }

        registration.Unregister();

        // The primary may have come back between the caller's decision and its place in the line.
        Signal();
        return held.Completion.Task;
    }

    /// <summary>The hold answer of class <paramref name="classIndex"/>: <paramref name="holdReply"/> with its
    /// <c>retry_after_ms</c> set.</summary>
    public Wire.RouteDecision HoldAnswer(int classIndex, Wire.RouteDecision holdReply)
    {
        holdReply.RetryAfterMs = Math.Max(1, _retryAfterMs(classIndex));
        return holdReply;
    }

    /// <summary>Re-checks every line soon (on the thread pool; signals while a pass is scheduled are merged).</summary>
    public void Signal()
    {
        if (IsEmpty || Interlocked.Exchange(ref _drainScheduled, 1) != 0)
        {
            return;
        }

        ThreadPool.UnsafeQueueUserWorkItem(static queue => queue.Drain(), this, preferLocal: false);
    }

    /// <summary>Answers every held call with its hold answer and holds no more (the node is stopping: the caller
    /// retries, on another node).</summary>
    public void Close()
    {
        _closed = true;
        _recheck.Dispose();
        for (var c = 0; c < _lines.Length; c++)
        {
            var line = _lines[c];
            lock (line.Gate)
            {
                while (line.Waiting.First is { } first)
                {
                    Finish(line, first.Value, RouteQueueMetrics.Expired, HoldAnswer(c, first.Value.HoldReply), null);
                }
            }
        }
    }

    public void Dispose() => Close();

    /// <summary>One pass over every line (see <see cref="Recheck"/>).</summary>
    internal void Drain()
    {
        Volatile.Write(ref _drainScheduled, 0);
        for (var c = 0; c < _lines.Length; c++)
        {
            Recheck(c);
        }
    }

    /// <summary>Re-checks class <paramref name="classIndex"/>'s line from its head: calls whose caller left or whose
    /// wait ran out are answered, the head is routed again, and the pass moves on only while heads get an endpoint
    /// (a younger call never overtakes an older one). Routing runs under the line's lock, so a head is routed by one
    /// pass at a time and its caller's cancellation waits for the answer.</summary>
    public void Recheck(int classIndex)
    {
        var line = _lines[classIndex];
        if (Volatile.Read(ref line.Depth) == 0)
        {
            return;
        }

        lock (line.Gate)
        {
            while (line.Waiting.First is { } first)
            {
                var held = first.Value;
                if (held.CancellationToken.IsCancellationRequested)
                {
                    Finish(line, held, RouteQueueMetrics.Cancelled, null, null);
                    continue;
                }

                if (_time.GetUtcNow() >= held.ExpiresAt)
                {
                    Finish(line, held, RouteQueueMetrics.Expired, HoldAnswer(classIndex, held.HoldReply), null);
                    continue;
                }

                Wire.RouteDecision reply;
                try
                {
                    reply = _reroute(held);
                }
                catch (Exception error) when (error is not OutOfMemoryException)
                {
                    // Answered with the error (the service maps a bad request to its status); the line goes on.
                    Finish(line, held, RouteQueueMetrics.Failed, null, error);
                    continue;
                }

                if (IsHold(reply))
                {
                    return;
                }

                Finish(line, held, RouteQueueMetrics.Served, reply, null);
            }
        }
    }

    internal static bool IsHold(Wire.RouteDecision reply) => string.Equals(reply.RouteReason, QueueOnlyHold, StringComparison.Ordinal);

    private void Expire(HeldRoute held)
    {
        var line = _lines[held.ClassIndex];
        lock (line.Gate)
        {
            if (held.Node?.List is not null)
            {
                Finish(line, held, RouteQueueMetrics.Expired, HoldAnswer(held.ClassIndex, held.HoldReply), null);
            }
        }
    }

    private void Cancel(HeldRoute held)
    {
        var line = _lines[held.ClassIndex];
        lock (line.Gate)
        {
            if (held.Node?.List is not null)
            {
                Finish(line, held, RouteQueueMetrics.Cancelled, null, null);
            }
        }
    }

    // Under the line's lock. The completion runs its continuations asynchronously, never under the lock.
    private void Finish(Line line, HeldRoute held, string result, Wire.RouteDecision? reply, Exception? error)
    {
        line.Waiting.Remove(held.Node!);
        Volatile.Write(ref line.Depth, line.Waiting.Count);
        Interlocked.Decrement(ref _held);
        held.Timer?.Dispose();
        held.Registration.Unregister();
        _metrics.Waited(held.ClassIndex, _time.GetElapsedTime(held.EnqueuedTimestamp), result);
        if (reply is not null)
        {
            held.Completion.TrySetResult(reply);
        }
        else if (error is not null)
        {
            held.Completion.TrySetException(error);
        }
        else
        {
            held.Completion.TrySetCanceled(held.CancellationToken);
        }
    }

    private sealed class Line
    {
        public readonly Lock Gate = new();
        public readonly LinkedList<HeldRoute> Waiting = new();
        public int Depth;
    }
}
