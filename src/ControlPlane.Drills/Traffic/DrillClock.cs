namespace ControlPlane.Drills.Traffic;

/// <summary>The drill's clock: seconds since the traffic (and the fault timeline) started.</summary>
internal sealed class DrillClock(TimeProvider time)
{
    private long _start = time.GetTimestamp();

    /// <summary>The time provider behind it.</summary>
    public TimeProvider Time => time;

    /// <summary>When the clock started, wall time.</summary>
    public DateTimeOffset StartedAt { get; private set; } = time.GetUtcNow();

    /// <summary>Restarts the clock now.</summary>
    public void Start()
    {
        _start = time.GetTimestamp();
        StartedAt = time.GetUtcNow();
    }

    /// <summary>Seconds since <see cref="Start"/>.</summary>
    public double Now => time.GetElapsedTime(_start).TotalSeconds;

    /// <summary>Seconds on the drill clock of wall time <paramref name="at"/>.</summary>
    public double Of(DateTimeOffset at) => (at - StartedAt).TotalSeconds;
}
