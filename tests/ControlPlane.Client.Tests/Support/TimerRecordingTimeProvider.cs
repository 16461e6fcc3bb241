using System.Collections.Concurrent;
using Microsoft.Extensions.Time.Testing;

namespace ControlPlane.Client.Tests.Support;

/// <summary>A <see cref="FakeTimeProvider"/> that records the due time of every timer made on it, so a test can wait
/// until the code under test is waiting before it advances the clock.</summary>
internal sealed class TimerRecordingTimeProvider : FakeTimeProvider
{
    private readonly ConcurrentQueue<TimeSpan> _timers = new();

    public IReadOnlyCollection<TimeSpan> Timers => _timers;

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        _timers.Enqueue(dueTime);
        return base.CreateTimer(callback, state, dueTime, period);
    }
}
