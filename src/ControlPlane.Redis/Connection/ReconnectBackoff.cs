namespace ControlPlane.Redis.Connection;

/// <summary>Exponential backoff between reconnect attempts with jitter, so the nodes that lost Redis
/// together do not reconnect in lock-step when it returns.</summary>
internal sealed class ReconnectBackoff
{
    internal const double Multiplier = 2.0;

    // The delay is drawn from [ceiling * JitterFloor, ceiling].
    internal const double JitterFloor = 0.5;

    private readonly TimeSpan _min;
    private readonly TimeSpan _max;
    private readonly Random _random;

    public ReconnectBackoff(TimeSpan min, TimeSpan max, Random random)
    {
        _min = min;
        _max = max;
        _random = random;
    }

    /// <summary>The delay before reconnect attempt <paramref name="failures"/> (1 = after the first failure).</summary>
    public TimeSpan Delay(int failures)
    {
        var ceiling = _min.TotalMilliseconds * Math.Pow(Multiplier, Math.Clamp(failures - 1, 0, 30));
        ceiling = Math.Min(ceiling, _max.TotalMilliseconds);
        double sample;
        lock (_random)
        {
            sample = _random.NextDouble();
        }

        var jittered = ceiling * (JitterFloor + ((1 - JitterFloor) * sample));
        return TimeSpan.FromMilliseconds(Math.Max(jittered, _min.TotalMilliseconds));
    }
}
