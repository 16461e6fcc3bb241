namespace ControlPlane.Service.Alerting.Delivery;

/// <summary>How alert notices are delivered to the teams' receivers (the receivers themselves are in the fleet file's
/// <c>teams:</c>). Every value is bounded; <see cref="Validate"/> names the first bad one.</summary>
public sealed class AlertDeliveryOptions
{
    /// <summary>How often a team's outbox looks for deliveries that are due.
    /// <value>Between 50 ms and 1 min. Defaults to 1 s.</value></summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The wait before the second attempt; each later wait doubles, up to <see cref="MaxDelay"/>.
    /// <value>Between 10 ms and 10 min. Defaults to 2 s.</value></summary>
    public TimeSpan InitialDelay { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>The longest wait between two attempts (also the cap on a receiver's <c>Retry-After</c>).
    /// <value>Between <see cref="InitialDelay"/> and 6 h. Defaults to 5 min.</value></summary>
    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>The share of each wait drawn at random and taken off it (spreads the retries of many outboxes).
    /// <value>Between 0 and 1. Defaults to 0.2 (a wait is 80 % to 100 % of the doubled delay).</value></summary>
    public double Jitter { get; set; } = 0.2;

    /// <summary>How long a notice is retried before it is given up and counted as failed.
    /// <value>Between 1 s and 7 days. Defaults to 24 h.</value></summary>
    public TimeSpan MaxAge { get; set; } = TimeSpan.FromHours(24);

    /// <summary>How long one HTTP attempt may take (connect, send, answer).
    /// <value>Between 100 ms and 2 min. Defaults to 10 s.</value></summary>
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Most deliveries a team's outbox holds; when full, the oldest is given up (counted as failed).
    /// <value>Between 1 and 100 000. Defaults to 1 000.</value></summary>
    public int MaxQueuedPerTeam { get; set; } = 1_000;

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first bad option.</summary>
    public AlertDeliveryOptions Validate()
    {
        Check(PollInterval, TimeSpan.FromMilliseconds(50), TimeSpan.FromMinutes(1), nameof(PollInterval));
        Check(InitialDelay, TimeSpan.FromMilliseconds(10), TimeSpan.FromMinutes(10), nameof(InitialDelay));
        Check(MaxDelay, InitialDelay, TimeSpan.FromHours(6), nameof(MaxDelay));
        Check(MaxAge, TimeSpan.FromSeconds(1), TimeSpan.FromDays(7), nameof(MaxAge));
        Check(AttemptTimeout, TimeSpan.FromMilliseconds(100), TimeSpan.FromMinutes(2), nameof(AttemptTimeout));
        if (!(Jitter >= 0 && Jitter <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(Jitter), Jitter, "AlertDeliveryOptions.Jitter must be between 0 and 1.");
        }

        if (MaxQueuedPerTeam is < 1 or > 100_000)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxQueuedPerTeam), MaxQueuedPerTeam, "AlertDeliveryOptions.MaxQueuedPerTeam must be between 1 and 100000.");
        }

        return this;
    }

    /// <summary>The wait after the <paramref name="failures"/>-th failed attempt (1-based): <see cref="InitialDelay"/>
    /// doubled per earlier failure, capped at <see cref="MaxDelay"/>, less a random share of up to <see cref="Jitter"/>
    /// (<paramref name="random"/> in [0, 1)).</summary>
    public TimeSpan Backoff(int failures, double random)
    {
        double doubled = InitialDelay.TotalMilliseconds * Math.Pow(2, Math.Clamp(failures - 1, 0, 40));
        double capped = Math.Min(doubled, MaxDelay.TotalMilliseconds);
        return TimeSpan.FromMilliseconds(capped * (1 - (Jitter * Math.Clamp(random, 0, 1))));
    }

    private static void Check(TimeSpan value, TimeSpan min, TimeSpan max, string name)
    {
        if (value < min || value > max)
        {
            throw new ArgumentOutOfRangeException(name, value, $"AlertDeliveryOptions.{name} must be between {min} and {max}.");
        }
    }
}
