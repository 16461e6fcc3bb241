using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using ControlPlane.Service.Security;

namespace ControlPlane.Server.AdminCli;

/// <summary>Checks and converts what the user typed; every failure is a <see cref="CliUsageException"/> naming the
/// option, raised before any call.</summary>
internal static partial class CliInput
{
    /// <summary>Longest TTL or relative time accepted (366 days, the API's own bound).</summary>
    public static readonly TimeSpan MaxDuration = TimeSpan.FromDays(366);

    /// <summary>Longest reason accepted (the API's own bound).</summary>
    public const int MaxReasonLength = 1024;

    /// <summary>Most items in a list option (primaries, fallbacks, prohibited, roles).</summary>
    public const int MaxListItems = 64;

    /// <summary>A duration: <c>90</c> (seconds), <c>30s</c>, <c>10m</c>, <c>2h</c>, <c>7d</c> or combined (<c>1h30m</c>);
    /// positive and at most <see cref="MaxDuration"/>.</summary>
    public static TimeSpan Duration(string text, string option)
    {
        var value = text.Trim();
        if (value.Length is 0 or > 32)
        {
            throw new CliUsageException($"{option}: '{text}' is not a duration; use e.g. 90, 30s, 10m, 2h, 7d or 1h30m");
        }

        if (long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
        {
            return Bounded(seconds, text, option);
        }

        if (!DurationPattern().IsMatch(value))
        {
            throw new CliUsageException($"{option}: '{text}' is not a duration; use e.g. 90, 30s, 10m, 2h, 7d or 1h30m");
        }

        long total = 0;
        foreach (Match part in DurationPart().Matches(value))
        {
            if (!long.TryParse(part.Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var amount) || amount > MaxDuration.TotalSeconds)
            {
                throw new CliUsageException($"{option}: '{text}' is longer than {MaxDuration.TotalDays} days");
            }

            total += amount * part.Groups[2].Value switch
            {
                "d" => 86_400,
                "h" => 3_600,
                "m" => 60,
                _ => 1,
            };
        }

        return Bounded(total, text, option);
    }

    /// <summary>A TTL in whole seconds for a request body, or null when the option was not given.</summary>
    public static long? TtlSeconds(string? text, string option = "--ttl") =>
        text is null ? null : (long)Duration(text, option).TotalSeconds;

    /// <summary>An endpoint id, class name, proposal id or key id: letters, digits, '.', '_', '-' and '~' (at most 128),
    /// starting with a letter or digit: the fleet's identifier rule plus the '~' of proposal and break-glass ids
    /// (<c>legal_draft~3</c>, <c>legal_draft~bg2</c>); all of them unreserved in a URL path.</summary>
    public static string Id(string? text, string what)
    {
        if (text is null || !IdPattern().IsMatch(text))
        {
            throw new CliUsageException($"{what}: '{text}' is not a valid id; use letters, digits, '.', '_', '-' and '~' (at most 128), starting with a letter or digit");
        }

        return text;
    }

    /// <summary>A required reason: non-blank, at most <see cref="MaxReasonLength"/> characters, no control characters.</summary>
    public static string Reason(string? text, string option = "--reason")
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            throw new CliUsageException($"{option} is required: say why (it is audited)");
        }

        return Text(text, option, MaxReasonLength);
    }

    /// <summary>Optional free text (eval reference, filters): at most <paramref name="max"/> characters, no control characters.</summary>
    public static string Text(string text, string option, int max = 256)
    {
        if (text.Length > max)
        {
            throw new CliUsageException($"{option}: must be at most {max} characters");
        }

        if (text.Any(char.IsControl))
        {
            throw new CliUsageException($"{option}: must not contain control characters (newlines, tabs, escapes)");
        }

        return text;
    }

    /// <summary>A role name from <see cref="Roles.All"/>.</summary>
    public static string Role(string text)
    {
        if (!Roles.IsKnown(text))
        {
            throw new CliUsageException($"--role: unknown role '{text}'; expected one of {string.Join(", ", Roles.All)}");
        }

        return text;
    }

    /// <summary>One value out of <paramref name="allowed"/>.</summary>
    public static string OneOf(string text, string option, params string[] allowed)
    {
        if (!allowed.Contains(text, StringComparer.Ordinal))
        {
            throw new CliUsageException($"{option}: unknown value '{text}'; expected one of {string.Join(", ", allowed)}");
        }

        return text;
    }

    /// <summary>Ids given as repeated options and/or comma-separated (<c>--primary a,b --primary c</c>); null when the
    /// option was not given, an empty list for <c>--primary ""</c> (clears the list).</summary>
    public static JsonArray? Ids(string[]? values, string option)
    {
        if (values is null || values.Length == 0)
        {
            return null;
        }

        var array = new JsonArray();
        foreach (var item in values.SelectMany(v => v.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)))
        {
            array.Add(Id(item, option));
        }

        return array.Count > MaxListItems ? throw new CliUsageException($"{option}: at most {MaxListItems} items") : array;
    }

    /// <summary>Approved fallbacks: <c>id=score</c> (an eval score between 0 and 1) or a bare <c>id</c> (keeps the score
    /// of an endpoint already approved), repeated and/or comma-separated.</summary>
    public static JsonArray? Fallbacks(string[]? values)
    {
        if (values is null || values.Length == 0)
        {
            return null;
        }

        var array = new JsonArray();
        foreach (var item in values.SelectMany(v => v.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)))
        {
            var parts = item.Split('=', 2);
            var id = Id(parts[0], "--fallback");
            if (parts.Length == 1)
            {
                array.Add(id);
                continue;
            }

            if (!double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var score) || !double.IsFinite(score) || score is < 0 or > 1)
            {
                throw new CliUsageException($"--fallback: '{item}': the eval score after '=' must be a number between 0 and 1");
            }

            array.Add(new JsonObject { ["endpointId"] = id, ["evalScore"] = score });
        }

        return array.Count > MaxListItems ? throw new CliUsageException($"--fallback: at most {MaxListItems} items") : array;
    }

    /// <summary>A point in time for a filter: an ISO 8601 timestamp, or a duration meaning that long ago (<c>2h</c>);
    /// sent as ISO 8601 UTC.</summary>
    public static string? Time(string? text, string option, TimeProvider time)
    {
        if (text is null)
        {
            return null;
        }

        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var at)
            && text.Contains('-', StringComparison.Ordinal))
        {
            return Iso(at);
        }

        try
        {
            return Iso(time.GetUtcNow() - Duration(text, option));
        }
        catch (CliUsageException)
        {
            throw new CliUsageException($"{option}: '{text}' is neither an ISO 8601 time (2026-12-06T15:00:00Z) nor a duration ago (2h)");
        }
    }

    private static string Iso(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", CultureInfo.InvariantCulture);

    private static TimeSpan Bounded(long seconds, string text, string option)
    {
        if (seconds <= 0)
        {
            throw new CliUsageException($"{option}: '{text}' must be positive");
        }

        return seconds > MaxDuration.TotalSeconds
            ? throw new CliUsageException($"{option}: '{text}' is longer than {MaxDuration.TotalDays} days")
            : TimeSpan.FromSeconds(seconds);
    }

    [GeneratedRegex("^([0-9]{1,9}[dhms])+$")]
    private static partial Regex DurationPattern();

    [GeneratedRegex("([0-9]{1,9})([dhms])")]
    private static partial Regex DurationPart();

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._~-]{0,127}$")]
    private static partial Regex IdPattern();
}
