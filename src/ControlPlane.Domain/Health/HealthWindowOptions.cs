namespace ControlPlane.Domain.Health;

/// <summary>Shape of a sliding health window: <see cref="BucketCount"/> buckets of <see cref="BucketDuration"/>.</summary>
public sealed class HealthWindowOptions
{
    /// <summary>Width of one bucket; the window slides by this much.</summary>
    /// <value>Between 100 ms and 1 h, and a divisor of <see cref="WindowDuration"/>. Defaults to 10 s.</value>
    public TimeSpan BucketDuration { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Span the window covers.</summary>
    /// <value>A whole number of buckets, at most 3,600 of them. Defaults to 5 min.</value>
    public TimeSpan WindowDuration { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Number of buckets the window holds.</summary>
    public int BucketCount => (int)(WindowDuration.Ticks / BucketDuration.Ticks);

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first invalid option.</summary>
    public HealthWindowOptions Validate()
    {
        if (BucketDuration < TimeSpan.FromMilliseconds(100) || BucketDuration > TimeSpan.FromHours(1))
        {
            OptionRules.Fail($"{nameof(HealthWindowOptions)}.{nameof(BucketDuration)}", BucketDuration, "must be between 100 ms and 1 h");
        }

        if (WindowDuration < BucketDuration || WindowDuration.Ticks % BucketDuration.Ticks != 0 || BucketCount > 3600)
        {
            OptionRules.Fail($"{nameof(HealthWindowOptions)}.{nameof(WindowDuration)}", WindowDuration,
                $"must be a whole number (1 to 3600) of {nameof(BucketDuration)} ({BucketDuration})");
        }

        return this;
    }
}
