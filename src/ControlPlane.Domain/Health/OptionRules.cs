namespace ControlPlane.Domain.Health;

/// <summary>Checks shared by the options classes of the health, baseline, breaker and SLO parts; each
/// failure names the option (<c>BreakerOptions.Cooldown</c>) so a bad config file points at its line.</summary>
internal static class OptionRules
{
    public static void Positive(TimeSpan value, string option)
    {
        if (value <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(option, value, $"{option} must be positive (was {value}).");
        }
    }

    public static void NotNegative(TimeSpan value, string option)
    {
        if (value < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(option, value, $"{option} must not be negative (was {value}).");
        }
    }

    public static void AtLeast(int value, int min, string option)
    {
        if (value < min)
        {
            throw new ArgumentOutOfRangeException(option, value, $"{option} must be at least {min} (was {value}).");
        }
    }

    public static void InRange(double value, double min, double max, string option)
    {
        if (double.IsNaN(value) || value < min || value > max)
        {
            throw new ArgumentOutOfRangeException(option, value, $"{option} must be between {min} and {max} (was {value}).");
        }
    }

    public static void Fraction(double value, string option)
    {
        if (double.IsNaN(value) || value <= 0 || value >= 1)
        {
            throw new ArgumentOutOfRangeException(option, value, $"{option} must be strictly between 0 and 1 (was {value}).");
        }
    }

    public static void Fail(string option, object? value, string message) =>
        throw new ArgumentOutOfRangeException(option, value, $"{option} {message} (was {value}).");
}
