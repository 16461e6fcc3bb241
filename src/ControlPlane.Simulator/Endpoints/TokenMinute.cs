namespace ControlPlane.Simulator.Endpoints;

/// <summary>Tokens an endpoint served in the current clock minute, for the rate-limit fault's <c>tpm</c> mode.</summary>
internal sealed class TokenMinute
{
    private readonly Lock _gate = new();
    private long _minute = long.MinValue;
    private long _tokens;

    /// <summary>Tokens used in the minute of <paramref name="now"/>.</summary>
    public long Used(DateTimeOffset now)
    {
        lock (_gate)
        {
            return MinuteOf(now) == _minute ? _tokens : 0;
        }
    }

    /// <summary>Adds <paramref name="tokens"/> to the minute of <paramref name="now"/>.</summary>
    public void Add(DateTimeOffset now, long tokens)
    {
        lock (_gate)
        {
            long minute = MinuteOf(now);
            if (minute != _minute)
            {
                _minute = minute;
                _tokens = 0;
            }

            _tokens = checked(_tokens + tokens);
        }
    }

    /// <summary>Whole seconds until the minute of <paramref name="now"/> ends (at least 1).</summary>
    public static int SecondsToNextMinute(DateTimeOffset now)
    {
        long ticksInto = now.UtcTicks % TimeSpan.TicksPerMinute;
        long remaining = TimeSpan.TicksPerMinute - ticksInto;
        return (int)Math.Max(1, (remaining + TimeSpan.TicksPerSecond - 1) / TimeSpan.TicksPerSecond);
    }

    private static long MinuteOf(DateTimeOffset now) => now.UtcTicks / TimeSpan.TicksPerMinute;
}
