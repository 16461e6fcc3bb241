namespace ControlPlane.Grains.Runtime;

/// <summary>Something the wheel can time out.</summary>
internal interface ITimeoutTarget
{
    void OnTimeout();
}

/// <summary>Call timeouts without a timer per call. Calls register in the current bucket (an atomic increment and an
/// array store); completion clears their slot; one periodic sweep rotates the current bucket and times out the live
/// calls of buckets closed at least a timeout ago. A call therefore times out between <c>timeout</c> and
/// <c>timeout + tick</c> after it started, never early. (A timer per call cost ~4x the whole local call.)</summary>
internal sealed class CallTimeoutWheel : IDisposable
{
    internal const int SlotsPerBucket = 1024;
    internal const int TicksPerTimeout = 30;
    private static readonly TimeSpan s_minTick = TimeSpan.FromMilliseconds(10);
    private static readonly TimeSpan s_maxTick = TimeSpan.FromSeconds(1);

    private readonly TimeProvider _timeProvider;
    private readonly TimeSpan _timeout;
    private readonly Queue<Bucket> _closed = new();
    private readonly object _rotation = new();
    private readonly ITimer _sweeper;
    private volatile Bucket _current = new();

    public CallTimeoutWheel(TimeProvider timeProvider, TimeSpan timeout)
    {
        _timeProvider = timeProvider;
        _timeout = timeout;
        Tick = TimeSpan.FromTicks(Math.Clamp(timeout.Ticks / TicksPerTimeout, s_minTick.Ticks, s_maxTick.Ticks));
        _sweeper = timeProvider.CreateTimer(static s => ((CallTimeoutWheel)s!).Sweep(), this, Tick, Tick);
    }

    /// <summary>The sweep period: how late after its due time a call may time out.</summary>
    public TimeSpan Tick { get; }

    public Registration Register(ITimeoutTarget target)
    {
        while (true)
        {
            var bucket = _current;
            var slot = Interlocked.Increment(ref bucket.Used) - 1;
            if (slot < SlotsPerBucket)
            {
                Volatile.Write(ref bucket.Slots[slot], target);
                return new Registration(bucket, slot);
            }

            // Full: close it early (its calls started no later than now, so closing now is conservative).
            lock (_rotation)
            {
                if (ReferenceEquals(_current, bucket))
                {
                    CloseCurrentLocked();
                }
            }
        }
    }

    public void Dispose() => _sweeper.Dispose();

    private void CloseCurrentLocked()
    {
        var closing = _current;
        closing.ClosedAt = _timeProvider.GetTimestamp();
        _closed.Enqueue(closing);
        _current = new Bucket();
    }

    private void Sweep()
    {
        var expired = new List<Bucket>();
        lock (_rotation)
        {
            CloseCurrentLocked();
            while (_closed.TryPeek(out var oldest) && _timeProvider.GetElapsedTime(oldest.ClosedAt) >= _timeout)
            {
                expired.Add(_closed.Dequeue());
            }
        }

        foreach (var bucket in expired)
        {
            var used = Math.Min(Volatile.Read(ref bucket.Used), SlotsPerBucket);
            for (var i = 0; i < used; i++)
            {
                Volatile.Read(ref bucket.Slots[i])?.OnTimeout();
            }
        }
    }

    /// <summary>Where a call sits in the wheel; clearing it keeps completed calls from being retained.</summary>
    internal readonly struct Registration(Bucket bucket, int slot)
    {
        public void Clear()
        {
            if (bucket is not null)
            {
                Volatile.Write(ref bucket.Slots[slot], null);
            }
        }
    }

    internal sealed class Bucket
    {
        public readonly ITimeoutTarget?[] Slots = new ITimeoutTarget?[SlotsPerBucket];
#pragma warning disable SA1401, CA1051 // Fields updated with Interlocked/Volatile.
        public int Used;
        public long ClosedAt;
#pragma warning restore SA1401, CA1051
    }
}
