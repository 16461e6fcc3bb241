using ControlPlane.Grains.Runtime;
using ControlPlane.Testing;

namespace ControlPlane.Grains.Tests.Runtime;

public sealed class CallTimeoutWheelTests
{
    [Fact]
    public void Calls_time_out_after_the_timeout_and_within_one_tick_never_early()
    {
        var time = new FakeTimeProvider();
        using var wheel = new CallTimeoutWheel(time, TimeSpan.FromSeconds(3));
        Assert.Equal(TimeSpan.FromMilliseconds(100), wheel.Tick);
        var early = new Target(time);
        wheel.Register(early);
        time.Advance(TimeSpan.FromMilliseconds(1500));
        var late = new Target(time);
        wheel.Register(late);

        time.Advance(TimeSpan.FromMilliseconds(1499));
        Assert.Null(early.TimedOutAt);
        time.Advance(TimeSpan.FromMilliseconds(101));
        Assert.NotNull(early.TimedOutAt);
        Assert.Null(late.TimedOutAt);
        time.Advance(TimeSpan.FromMilliseconds(1600));

        Assert.InRange(late.TimedOutAt!.Value - late.StartedAt, TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(3) + wheel.Tick);
        Assert.InRange(early.TimedOutAt!.Value - early.StartedAt, TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(3) + wheel.Tick);
    }

    [Fact]
    public void Cleared_registrations_never_time_out_and_full_buckets_roll_over()
    {
        var time = new FakeTimeProvider();
        using var wheel = new CallTimeoutWheel(time, TimeSpan.FromSeconds(1));
        var targets = Enumerable.Range(0, (CallTimeoutWheel.SlotsPerBucket * 2) + 5).Select(_ => new Target(time)).ToArray();
        var registrations = targets.Select(wheel.Register).ToArray();
        for (var i = 0; i < targets.Length; i += 2)
        {
            registrations[i].Clear();
        }

        time.Advance(TimeSpan.FromSeconds(2));

        for (var i = 0; i < targets.Length; i++)
        {
            Assert.Equal(i % 2 == 1, targets[i].TimedOutAt is not null);
        }
    }

    private sealed class Target(TimeProvider time) : ITimeoutTarget
    {
        public DateTimeOffset StartedAt { get; } = time.GetUtcNow();

        public DateTimeOffset? TimedOutAt { get; private set; }

        public void OnTimeout() => TimedOutAt ??= time.GetUtcNow();
    }
}
