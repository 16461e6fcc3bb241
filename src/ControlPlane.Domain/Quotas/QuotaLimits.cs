namespace ControlPlane.Domain.Quotas;

/// <summary>A rate limit in tokens and requests per period (a provider's TPM/RPM, or a class budget).</summary>
public sealed record QuotaLimits
{
    /// <summary>Tokens per <see cref="Period"/>; 0 means unlimited.</summary>
    /// <value>Must not be negative. Defaults to 0 (unlimited).</value>
    public long TokensPerPeriod { get; init; }

    /// <summary>Requests per <see cref="Period"/>; 0 means unlimited.</summary>
    /// <value>Must not be negative. Defaults to 0 (unlimited).</value>
    public long RequestsPerPeriod { get; init; }

    /// <summary>The period the limits apply to.</summary>
    /// <value>Must be between 1 s and 1 day. Defaults to one minute (providers' TPM/RPM).</value>
    public TimeSpan Period { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>Per-minute limits, as providers publish them.</summary>
    public static QuotaLimits PerMinute(long tokens, long requests) =>
        new() { TokensPerPeriod = tokens, RequestsPerPeriod = requests };

    /// <summary>Throws <see cref="ArgumentException"/> naming the offending field.</summary>
    public void Validate()
    {
        if (!TryValidate(out string field, out string message))
        {
            throw new ArgumentException($"{field}: {message}", field);
        }
    }

    /// <summary>Checks the limits; on failure names the field (camelCase, as in config) and the problem.</summary>
    public bool TryValidate(out string field, out string message)
    {
        (field, message) = (TokensPerPeriod, RequestsPerPeriod, Period) switch
        {
            ( < 0, _, _) => ("tokensPerPeriod", "must not be negative"),
            (_, < 0, _) => ("requestsPerPeriod", "must not be negative"),
            _ when Period < TimeSpan.FromSeconds(1) || Period > TimeSpan.FromDays(1) => ("period", "must be between 1 s and 1 day"),
            _ => ("", ""),
        };
        return field.Length == 0;
    }
}
