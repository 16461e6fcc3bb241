using ControlPlane.Fleet;

namespace ControlPlane.Service.Catalog;

/// <summary>The notice stages of an announced deprecation: 90, 30 and 7 days before the date, and past due (on or
/// after it). Each stage is raised once per endpoint and date (<see cref="Grains.FleetGrain"/>).</summary>
internal static class DeprecationStage
{
    /// <summary>Within 90 days.</summary>
    public const string Days90 = "90d";

    /// <summary>Within 30 days.</summary>
    public const string Days30 = "30d";

    /// <summary>Within 7 days.</summary>
    public const string Days7 = "7d";

    /// <summary>The date has come: the provider retires (or retired) the version.</summary>
    public const string Past = "past";

    /// <summary>Days before the date at which notices start.</summary>
    public const int NoticeDays = 90;

    /// <summary>Whole days from <paramref name="today"/> to the deprecation date (negative once it has passed).</summary>
    public static int DaysLeft(EndpointDeprecation deprecation, DateOnly today) => deprecation.Date.DayNumber - today.DayNumber;

    /// <summary>The stage at <paramref name="daysLeft"/>, or null when more than 90 days remain.</summary>
    public static string? Of(int daysLeft) => daysLeft switch
    {
        <= 0 => Past,
        <= 7 => Days7,
        <= 30 => Days30,
        <= NoticeDays => Days90,
        _ => null,
    };

    /// <summary>Orders stages by urgency (0 for none), so a later, more urgent stage is raised and an earlier one is not repeated.</summary>
    public static int Rank(string? stage) => stage switch
    {
        Days90 => 1,
        Days30 => 2,
        Days7 => 3,
        Past => 4,
        _ => 0,
    };

    /// <summary>Today as a UTC calendar day.</summary>
    public static DateOnly Today(TimeProvider time) => DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime);
}
