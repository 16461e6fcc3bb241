using System.Globalization;
using ControlPlane.Service.Admin;
using Microsoft.Extensions.Primitives;

namespace ControlPlane.Service.Audit;

/// <summary>Audit query input from the wire: bounded and validated before it sizes anything; a bad value is an
/// <see cref="AdminException"/> naming the field.</summary>
internal static class AuditQueries
{
    /// <summary>Longest accepted text filter (actor, target, action).</summary>
    internal const int MaxFilterLength = 256;

    /// <summary>Names of the query parameters of the listing and export routes.</summary>
    internal static readonly string[] Parameters = ["limit", "before", "since", "until", "actor", "target", "action"];

    /// <summary>Checks <paramref name="query"/>'s bounds.</summary>
    public static AuditQuery Validate(AuditQuery query)
    {
        ArgumentNullException.ThrowIfNull(query);
        if (query.Limit is < 1 or > AdminOperations.MaxAuditPage)
        {
            throw new AdminException(AdminErrorKind.Invalid, "limit", $"must be between 1 and {AdminOperations.MaxAuditPage}");
        }

        if (query.Before is < 1)
        {
            throw new AdminException(AdminErrorKind.Invalid, "before", "must be a sequence number of at least 1");
        }

        if (query is { Since: { } since, Until: { } until } && until < since)
        {
            throw new AdminException(AdminErrorKind.Invalid, "until", "must not be before since");
        }

        Filter(query.Actor, "actor");
        Filter(query.Target, "target");
        Filter(query.Action, "action");
        return query;
    }

    /// <summary>Reads the query string of <c>GET /audit</c> or <c>/audit/export</c>. Times are ISO-8601 with an offset
    /// (<c>2026-12-06T15:00:00Z</c>) or unix milliseconds; <c>since</c> is inclusive, <c>until</c> exclusive.</summary>
    public static AuditQuery FromQueryString(IEnumerable<KeyValuePair<string, StringValues>> parameters, bool paged)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in parameters)
        {
            if (!Parameters.Contains(name, StringComparer.Ordinal) || (!paged && name is "limit" or "before"))
            {
                var known = paged ? Parameters : Parameters[2..];
                throw new AdminException(AdminErrorKind.Invalid, name.Length > 64 ? name[..64] : name, $"unknown query parameter; expected {string.Join(", ", known)}");
            }

            if (value.Count != 1)
            {
                throw new AdminException(AdminErrorKind.Invalid, name, "must be given once");
            }

            values[name] = value[0] ?? "";
        }

        var query = new AuditQuery(
            Limit: values.TryGetValue("limit", out var limit) ? (int)Integer(limit, "limit", 1, AdminOperations.MaxAuditPage) : 100,
            Before: values.TryGetValue("before", out var before) ? Integer(before, "before", 1, long.MaxValue) : null,
            Since: values.TryGetValue("since", out var since) ? Time(since, "since") : null,
            Until: values.TryGetValue("until", out var until) ? Time(until, "until") : null,
            Actor: values.GetValueOrDefault("actor"),
            Target: values.GetValueOrDefault("target"),
            Action: values.GetValueOrDefault("action"));
        return Validate(query);
    }

    /// <summary>A time from unix milliseconds (gRPC; 0 or absent = no bound).</summary>
    public static DateTimeOffset? FromUnixMs(long? unixMs, string field)
    {
        if (unixMs is not { } ms || ms == 0)
        {
            return null;
        }

        try
        {
            return DateTimeOffset.FromUnixTimeMilliseconds(ms);
        }
        catch (ArgumentOutOfRangeException)
        {
            throw new AdminException(AdminErrorKind.Invalid, field, "is out of range");
        }
    }

    private static void Filter(string? value, string field)
    {
        if (value is null)
        {
            return;
        }

        if (value.Length is 0 or > MaxFilterLength)
        {
            throw new AdminException(AdminErrorKind.Invalid, field, $"must be 1 to {MaxFilterLength} characters");
        }
    }

    private static long Integer(string text, string field, long min, long max)
    {
        if (text.Length > 20 || !long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value < min || value > max)
        {
            throw new AdminException(AdminErrorKind.Invalid, field, max == long.MaxValue ? $"must be an integer of at least {min}" : $"must be an integer between {min} and {max}");
        }

        return value;
    }

    private static DateTimeOffset Time(string text, string field)
    {
        if (text.Length is > 0 and <= 20 && text.All(char.IsAsciiDigit))
        {
            return FromUnixMs(Integer(text, field, 1, 253_402_300_799_999), field)!.Value;
        }

        if (text.Length <= 64 && text.Contains('T', StringComparison.Ordinal)
            && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var time))
        {
            return time;
        }

        throw new AdminException(AdminErrorKind.Invalid, field, "must be an ISO-8601 time (e.g. 2026-12-06T15:00:00Z) or unix milliseconds");
    }
}
