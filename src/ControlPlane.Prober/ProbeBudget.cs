namespace ControlPlane.Prober;

/// <summary>The prober's token budget per clock hour (UTC): a probe is started only when the tokens it may cost (its
/// prompt estimate plus <c>max_tokens</c>) still fit; what it actually cost is then charged. Thread-safe.</summary>
internal sealed class ProbeBudget(long tokensPerHour, TimeProvider time)
{
    private readonly Lock _lock = new();
    private long _hour = long.MinValue;
    private long _spent;
    private long _reserved;

    /// <summary>The hour's budget.</summary>
    public long TokensPerHour => tokensPerHour;

    /// <summary>Tokens charged in the current hour.</summary>
    public long SpentThisHour
    {
        get
        {
            lock (_lock)
            {
                Roll();
                return _spent;
            }
        }
    }

    /// <summary>Reserves <paramref name="tokens"/> for one probe; false (nothing reserved) when the hour's budget cannot pay.</summary>
    public bool TryReserve(long tokens)
    {
        lock (_lock)
        {
            Roll();
            if (tokens < 0 || _spent + _reserved + tokens > tokensPerHour)
            {
                return false;
            }

            _reserved += tokens;
            return true;
        }
    }

    /// <summary>Settles a reservation of <paramref name="reserved"/> with the tokens the probe really cost.</summary>
    public void Settle(long reserved, long actual)
    {
        lock (_lock)
        {
            Roll();
            _reserved = Math.Max(0, _reserved - reserved);
            _spent = checked(_spent + Math.Max(0, actual));
        }
    }

    private void Roll()
    {
        var hour = time.GetUtcNow().ToUnixTimeSeconds() / 3600;
        if (hour != _hour)
        {
            _hour = hour;
            _spent = 0;
        }
    }
}
