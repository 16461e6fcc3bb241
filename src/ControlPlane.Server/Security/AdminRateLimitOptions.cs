using Microsoft.Extensions.Options;

namespace ControlPlane.Server.Security;

/// <summary>Limits of the admin API (both its HTTP routes and anything else served on the admin listener; never the data
/// plane): a token bucket per authenticated principal (per remote address for calls without credentials), and a
/// stricter bucket per remote address that only failed authentications (401) draw from. Bound from the configuration
/// section <see cref="Section"/> (e.g. the environment variable <c>AdminRateLimit__PermitLimit=80</c>) and validated
/// when the node starts.</summary>
internal sealed class AdminRateLimitOptions
{
    /// <summary>The configuration section the options are bound from.</summary>
    public const string Section = "AdminRateLimit";

    /// <summary>The bucket's size: how many requests a principal may make at once after being idle (the burst).</summary>
    /// <value>Between 1 and 100,000. Defaults to 40.</value>
    public int PermitLimit { get; set; } = 40;

    /// <summary>Requests added back to a principal's bucket every <see cref="ReplenishmentPeriod"/>.</summary>
    /// <value>Between 1 and <see cref="PermitLimit"/>. Defaults to 20 (with the 1 s period: 20 requests/s sustained).</value>
    public int TokensPerPeriod { get; set; } = 20;

    /// <summary>How often <see cref="TokensPerPeriod"/> are added back.</summary>
    /// <value>Between 100 ms and 1 h. Defaults to 1 s.</value>
    public TimeSpan ReplenishmentPeriod { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Failed authentications (answered 401) one remote address may make at once; past it every request from that
    /// address is refused with 429 until the bucket refills (a guessed or revoked key cannot be retried fast).</summary>
    /// <value>Between 1 and 10,000. Defaults to 10.</value>
    public int FailedAuthenticationLimit { get; set; } = 10;

    /// <summary>Failed authentications forgiven per <see cref="FailedAuthenticationPeriod"/>.</summary>
    /// <value>Between 1 and <see cref="FailedAuthenticationLimit"/>. Defaults to 10.</value>
    public int FailedAuthenticationTokensPerPeriod { get; set; } = 10;

    /// <summary>Whether loopback callers (127.0.0.0/8, ::1) are exempt from both limits: a local caller already runs on
    /// the node's host (the embedded default listens on loopback only, and scripts, the CLI and tests there are not
    /// throttled), and a reverse proxy on the same host would otherwise share one bucket among all its clients. Set
    /// false to limit loopback callers too (e.g. behind a local proxy that should be limited as a whole).</summary>
    /// <value>Defaults to true.</value>
    public bool ExemptLoopback { get; set; } = true;

    /// <summary>How often <see cref="FailedAuthenticationTokensPerPeriod"/> are forgiven.</summary>
    /// <value>Between 100 ms and 1 day. Defaults to 1 min (10 failed attempts per minute per address).</value>
    public TimeSpan FailedAuthenticationPeriod { get; set; } = TimeSpan.FromMinutes(1);
}

/// <summary>Checks <see cref="AdminRateLimitOptions"/>.</summary>
internal sealed class AdminRateLimitOptionsValidator : IValidateOptions<AdminRateLimitOptions>
{
    public ValidateOptionsResult Validate(string? name, AdminRateLimitOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        Check(failures, nameof(options.PermitLimit), options.PermitLimit, 1, 100_000);
        Check(failures, nameof(options.TokensPerPeriod), options.TokensPerPeriod, 1, Math.Max(1, options.PermitLimit));
        Check(failures, nameof(options.ReplenishmentPeriod), options.ReplenishmentPeriod, TimeSpan.FromMilliseconds(100), TimeSpan.FromHours(1));
        Check(failures, nameof(options.FailedAuthenticationLimit), options.FailedAuthenticationLimit, 1, 10_000);
        Check(failures, nameof(options.FailedAuthenticationTokensPerPeriod), options.FailedAuthenticationTokensPerPeriod, 1, Math.Max(1, options.FailedAuthenticationLimit));
        Check(failures, nameof(options.FailedAuthenticationPeriod), options.FailedAuthenticationPeriod, TimeSpan.FromMilliseconds(100), TimeSpan.FromDays(1));
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void Check(List<string> failures, string name, int value, int min, int max)
    {
        if (value < min || value > max)
        {
            failures.Add($"{AdminRateLimitOptions.Section}:{name} must be between {min} and {max} (was {value}).");
        }
    }

    private static void Check(List<string> failures, string name, TimeSpan value, TimeSpan min, TimeSpan max)
    {
        if (value < min || value > max)
        {
            failures.Add($"{AdminRateLimitOptions.Section}:{name} must be between {min} and {max} (was {value}).");
        }
    }
}
