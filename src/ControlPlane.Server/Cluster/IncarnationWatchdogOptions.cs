using Microsoft.Extensions.Options;

namespace ControlPlane.Server.Cluster;

/// <summary>Settings of the <see cref="IncarnationWatchdog"/>. Validated when the watchdog is created
/// (and at host start-up when registered with <see cref="IncarnationWatchdogServiceCollectionExtensions.AddIncarnationWatchdog"/>).</summary>
internal sealed class IncarnationWatchdogOptions
{
    /// <summary>The Redis string that names the cluster's current incarnation; see <see cref="DefaultIncarnationKey"/>.</summary>
    /// <value>Required, not blank.</value>
    public string IncarnationKey { get; set; } = string.Empty;

    /// <summary>Orleans' membership HASH; when set, its absence also counts as a lost incarnation. Null turns the
    /// second signal off (do so when <c>RedisClusteringOptions.EntryExpiry</c> is set, or the key is not the default).</summary>
    /// <value>Null or not blank. Defaults to null; <see cref="DefaultMembershipKey"/> gives Orleans' default key.</value>
    public string? MembershipKey { get; set; }

    /// <summary>The pause between two checks.</summary>
    /// <value>Between 10 ms and 1 min. Defaults to 1 s.</value>
    public TimeSpan CheckPeriod { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long one check may wait for Redis before it counts as "Redis did not answer", so a hung Redis
    /// cannot stall the loop (StackExchange.Redis' own timeout is 5 s by default).</summary>
    /// <value>Between 10 ms and 30 s. Defaults to 500 ms.</value>
    public TimeSpan CheckTimeout { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>How long <see cref="IncarnationWatchdog.JoinAsync"/> may try to found or adopt the incarnation.</summary>
    /// <value>Between 10 ms and 5 min. Defaults to 10 s.</value>
    public TimeSpan JoinTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>While Redis does not answer, at most one warning is logged per this interval.</summary>
    /// <value>Between 10 ms and 1 h. Defaults to 10 s.</value>
    public TimeSpan UnreachableLogInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The incarnation key of a cluster: <c>{serviceId}/incarnation/{clusterId}</c>, next to Orleans' membership key.</summary>
    public static string DefaultIncarnationKey(string serviceId, string clusterId) => $"{serviceId}/incarnation/{clusterId}";

    /// <summary>Orleans' default membership key, <c>{serviceId}/members/{clusterId}</c>
    /// (<c>RedisClusteringOptions.DefaultCreateRedisKey</c> in Orleans.Clustering.Redis 10.4.2).</summary>
    public static string DefaultMembershipKey(string serviceId, string clusterId) => $"{serviceId}/members/{clusterId}";
}

/// <summary>Checks <see cref="IncarnationWatchdogOptions"/>.</summary>
internal sealed class IncarnationWatchdogOptionsValidator : IValidateOptions<IncarnationWatchdogOptions>
{
    public ValidateOptionsResult Validate(string? name, IncarnationWatchdogOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (string.IsNullOrWhiteSpace(options.IncarnationKey))
        {
            failures.Add("IncarnationKey is required.");
        }

        if (options.MembershipKey is not null && string.IsNullOrWhiteSpace(options.MembershipKey))
        {
            failures.Add("MembershipKey must be null or not blank.");
        }

        if (options.MembershipKey is not null && string.Equals(options.MembershipKey, options.IncarnationKey, StringComparison.Ordinal))
        {
            failures.Add("MembershipKey must differ from IncarnationKey.");
        }

        Check(failures, nameof(options.CheckPeriod), options.CheckPeriod, TimeSpan.FromMilliseconds(10), TimeSpan.FromMinutes(1));
        Check(failures, nameof(options.CheckTimeout), options.CheckTimeout, TimeSpan.FromMilliseconds(10), TimeSpan.FromSeconds(30));
        Check(failures, nameof(options.JoinTimeout), options.JoinTimeout, TimeSpan.FromMilliseconds(10), TimeSpan.FromMinutes(5));
        Check(failures, nameof(options.UnreachableLogInterval), options.UnreachableLogInterval, TimeSpan.FromMilliseconds(10), TimeSpan.FromHours(1));
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void Check(List<string> failures, string name, TimeSpan value, TimeSpan min, TimeSpan max)
    {
        if (value < min || value > max)
        {
            failures.Add($"{name} must be between {min} and {max} (was {value}).");
        }
    }
}
