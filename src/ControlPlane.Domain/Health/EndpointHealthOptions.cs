using ControlPlane.Domain.Baselines;
using ControlPlane.Domain.Breakers;

namespace ControlPlane.Domain.Health;

/// <summary>Options of an <see cref="EndpointHealth"/>: its windows, baselines and breakers.</summary>
public sealed class EndpointHealthOptions
{
    /// <summary>Shape of every window (endpoint and per class).</summary>
    public HealthWindowOptions Window { get; set; } = new();

    /// <summary>Baseline decay and trust.</summary>
    public BaselineOptions Baseline { get; set; } = new();

    /// <summary>Breaker thresholds.</summary>
    public BreakerOptions Breaker { get; set; } = new();

    /// <summary>How often a healthy window snapshot (of this span) is fed to the baselines.</summary>
    /// <value>Between one bucket and the window duration. Defaults to 1 min.</value>
    public TimeSpan BaselineFeedPeriod { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Workload classes tracked separately per endpoint; outcomes of further classes only feed the
    /// endpoint-wide track (bounds memory against unbounded class names).</summary>
    /// <value>Between 0 and 1,024. Defaults to 32.</value>
    public int MaxWorkloadClasses { get; set; } = 32;

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first invalid option.</summary>
    public EndpointHealthOptions Validate()
    {
        ArgumentNullException.ThrowIfNull(Window, nameof(Window));
        ArgumentNullException.ThrowIfNull(Baseline, nameof(Baseline));
        ArgumentNullException.ThrowIfNull(Breaker, nameof(Breaker));
        Window.Validate();
        Baseline.Validate();
        Breaker.Validate();
        if (BaselineFeedPeriod < Window.BucketDuration || BaselineFeedPeriod > Window.WindowDuration)
        {
            OptionRules.Fail($"{nameof(EndpointHealthOptions)}.{nameof(BaselineFeedPeriod)}", BaselineFeedPeriod,
                "must be between one bucket and the window duration");
        }

        if (MaxWorkloadClasses is < 0 or > 1024)
        {
            OptionRules.Fail($"{nameof(EndpointHealthOptions)}.{nameof(MaxWorkloadClasses)}", MaxWorkloadClasses, "must be between 0 and 1024");
        }

        return this;
    }
}
