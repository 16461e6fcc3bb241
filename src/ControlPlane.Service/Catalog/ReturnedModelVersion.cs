using ControlPlane.Service.DataPlane;

namespace ControlPlane.Service.Catalog;

/// <summary>The outcome's <c>returned_model_version</c>: bounded, printable, and compared with the pinned version
/// without building a string (the outcome path stays allocation-light).</summary>
internal static class ReturnedModelVersion
{
    /// <summary>Longest model version an outcome may report.</summary>
    public const int MaxLength = 128;

    /// <summary>The wire field name, for errors.</summary>
    public const string Field = "returned_model_version";

    /// <summary>The reported version when it differs from <paramref name="pinned"/>; null when none was reported or it
    /// is the pinned one. The returned string is the message's own (no copy).</summary>
    /// <exception cref="RoutingRequestException">Longer than <see cref="MaxLength"/> or not printable ASCII.</exception>
    public static string? Changed(string reported, string pinned)
    {
        if (reported.Length == 0)
        {
            return null;
        }

        if (reported.Length > MaxLength)
        {
            throw new RoutingRequestException(RequestErrorKind.InvalidArgument, Field, $"must be at most {MaxLength} characters (was {reported.Length})");
        }

        // Model versions are provider identifiers: visible ASCII only. Anything else (control characters, spaces,
        // terminal escapes, bidirectional overrides) would reach alerts, logs and the audit trail.
        for (var i = 0; i < reported.Length; i++)
        {
            if (reported[i] is < '!' or > '~')
            {
                throw new RoutingRequestException(RequestErrorKind.InvalidArgument, Field,
                    $"must be printable ASCII without spaces (U+{(int)reported[i]:X4} at {i})");
            }
        }

        return string.Equals(reported, pinned, StringComparison.Ordinal) ? null : reported;
    }
}
